"""Every error is an RFC 9457 problem+json carrying the request id; internals never leak."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from issuer_service.app import create_app
from issuer_service.db import make_engine, make_sessionmaker
from tests.service.service_helpers import assert_problem, bearer, make_settings


def test_missing_key_is_401_problem_with_bearer_challenge(client: TestClient) -> None:
    response = client.get("/v1/customers")
    problem = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in problem["detail"]


def test_unknown_key_is_401_problem(client: TestClient) -> None:
    response = client.get("/v1/customers", headers=bearer("cnh_not-a-real-key"))
    assert_problem(response, 401)


def test_wrong_role_is_403_problem_naming_the_needed_role(client: TestClient, make_key: Callable[..., str]) -> None:
    auditor = make_key("auditor")
    response = client.post(
        "/v1/customers", json={"name": "X", "kind": "individual", "jurisdiction": "HK"}, headers=bearer(auditor)
    )
    problem = assert_problem(response, 403)
    assert "operator" in problem["detail"] and "auditor" in problem["detail"]


def test_unknown_customer_is_404_problem(client: TestClient, operator_key: str) -> None:
    response = client.get("/v1/customers/cus_000000000000doesnotexist", headers=bearer(operator_key))
    assert_problem(response, 404)


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/no-such-thing"), 404)
    assert_problem(client.delete("/healthz"), 405)


def test_invalid_body_is_422_problem_naming_each_field(client: TestClient, operator_key: str) -> None:
    response = client.post("/v1/customers", json={"kind": "robot", "jurisdiction": "HK"}, headers=bearer(operator_key))
    problem = assert_problem(response, 422, field="body.name")
    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert set(fields) == {"body.name", "body.kind"}
    assert "required" in fields["body.name"]
    assert "individual" in fields["body.kind"] and "institution" in fields["body.kind"]


def test_malformed_json_is_400_problem_saying_so(client: TestClient, operator_key: str) -> None:
    response = client.post(
        "/v1/customers",
        content=b'{"name": "Lotus", ',
        headers=bearer(operator_key, **{"Content-Type": "application/json"}),
    )
    problem = assert_problem(response, 400, field="body")
    assert "not valid JSON" in problem["detail"]


def test_conflict_is_409_problem_naming_the_field(
    client: TestClient, operator_key: str, make_customer: Callable[..., dict[str, Any]]
) -> None:
    customer = make_customer()
    body = {"customer_id": customer["id"], "amount": "10.00", "currency": "CNH", "bank_reference": "REF-1"}
    first = client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "a"}))
    assert first.status_code == 201
    second = client.post("/v1/deposits", json=body, headers=bearer(operator_key, **{"Idempotency-Key": "b"}))
    assert_problem(second, 409, field="body.bank_reference")


def test_oversized_body_is_413_problem(client: TestClient, operator_key: str, settings: Any) -> None:
    too_big = {"name": "x" * settings.max_body_bytes, "kind": "individual", "jurisdiction": "HK"}
    response = client.post("/v1/customers", json=too_big, headers=bearer(operator_key))
    problem = assert_problem(response, 413)
    assert str(settings.max_body_bytes) in problem["detail"]


def test_oversized_chunked_body_without_length_is_413_problem(
    client: TestClient, operator_key: str, settings: Any
) -> None:
    def chunks() -> Any:
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024

    response = client.post("/v1/customers", content=chunks(), headers=bearer(operator_key))
    assert_problem(response, 413)


def test_client_request_id_is_echoed_and_an_insane_one_replaced(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"}).headers["x-request-id"] == "trace-42.a:b"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert replaced.startswith("req_")


def test_unexpected_exception_is_500_problem_without_internals(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app) as client:
        response = client.get("/boom")
    problem = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert "request_id" in problem["detail"]


def test_database_outage_is_503_problem_saying_retry(sqlite_database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(sqlite_database_url, tmp_path))
    with TestClient(app) as client:
        # Swap in a database that cannot be reached, as if the server went away after start-up.
        app.state.engine.dispose()
        app.state.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        response = client.get("/v1/customers", headers=bearer("cnh_any"))
        ready = client.get("/readyz")
    problem = assert_problem(response, 503)
    assert problem["detail"] == "database unavailable, retry"
    assert response.headers["retry-after"]
    assert "nobody" not in response.text and "127.0.0.1" not in response.text
    assert_problem(ready, 503)
    assert ready.json()["checks"]["database"]["ok"] is False


def test_operational_error_from_a_service_maps_to_503(app: FastAPI) -> None:
    @app.get("/flaky")
    def flaky() -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with TestClient(app) as client:
        response = client.get("/flaky")
    assert_problem(response, 503)
    assert "server closed" not in response.text
