"""Domain errors carry what the problem+json handler needs; driver errors caused by input are 4xx."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from compliance.decision import Decision
from issuer_service.app import create_app
from issuer_service.errors import RuleRejected
from tests.service.service_helpers import assert_problem, make_settings


def test_rule_rejection_from_a_compliance_decision_keeps_code_rule_and_message() -> None:
    decision = Decision.reject("insufficient_fiat", "deposit more first", "R10")
    error = RuleRejected.from_decision(decision, field="body.amount")
    assert (error.status, error.reason_code, error.rule_id, error.detail) == (
        422,
        "insufficient_fiat",
        "R10",
        "deposit more first",
    )
    assert [(e.field, e.message) for e in error.errors] == [("body.amount", "deposit more first")]


def test_an_allowed_decision_is_not_an_error() -> None:
    with pytest.raises(ValueError):
        RuleRejected.from_decision(Decision.allow())


def test_an_integer_the_database_driver_cannot_take_is_a_422_problem_not_a_500(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    """SQLite's driver raises OverflowError for an integer beyond 64 bits (PostgreSQL: DataError,
    already a 422); the service answers both alike, and logs the traceback of the missed limit."""
    app = create_app(make_settings(sqlite_database_url, tmp_path))

    def store_a_huge_number() -> None:
        with app.state.sessionmaker.begin() as session:
            session.execute(text("SELECT :value"), {"value": 2**64})

    app.add_api_route("/v1/test-overflow", store_a_huge_number, methods=["POST"])
    with TestClient(app) as client:
        problem = assert_problem(client.post("/v1/test-overflow"), 422)
    assert "numbers must fit their field" in problem["detail"]


def test_a_body_that_never_finishes_arriving_gets_a_408_and_frees_the_connection(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    """A client announcing 100 bytes and sending 10 held its connection forever: uvicorn has no
    timeout for reading a body. Over real HTTP, the service now answers 408 and closes."""
    app = create_app(make_settings(sqlite_database_url, tmp_path, body_read_timeout_s=0.5))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with socket.create_connection(sock.getsockname(), timeout=10) as client:
            client.sendall(
                b"POST /v1/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n" + b'{"amount":'
            )
            started = time.monotonic()
            answer = b""
            while chunk := client.recv(4096):  # until the service closes the connection
                answer += chunk
        assert time.monotonic() - started < 5
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert b"application/problem+json" in head.lower() and b"connection: close" in head.lower()
        assert b"did not arrive within 0.5 s" in body
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
