"""Webhooks: subscriptions per customer, Standard Webhooks signatures, retries with backoff and the
delivery log. Every delivery goes to a receiver on 127.0.0.1 that the test itself runs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from issuer_service.app import create_app
from issuer_service.clock import utc_now
from issuer_service.errors import ValidationFailed
from issuer_service.webhooks import service as webhooks
from issuer_service.webhooks import signing
from issuer_service.webhooks.delivery import RetryPolicy, WebhookDispatcher
from issuer_service.webhooks.destinations import Destinations, IPAddress
from issuer_service.webhooks.models import WebhookEvent, WebhookSubscription
from tests.service.flow import Staff, add_buffer_capital, new_customer, redemption_body, request_mint, wait_for
from tests.service.service_helpers import ADMIN_KEY, assert_problem, bearer, make_settings

# --- a local receiver ------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every POST and answers with the scripted statuses
    (then 200 once the script runs out)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                snapshot = list(self.received)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"the receiver did not get what was expected in {timeout} s: {snapshot}")

    def types(self) -> list[str]:
        with self.lock:
            return [r.payload["type"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                state.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cnh"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def closed_local_url() -> str:
    """A 127.0.0.1 URL nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-home"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def customer(make_customer: Callable[..., dict[str, Any]], make_customer_key: Callable[[str], str]) -> tuple[str, str]:
    created = make_customer()
    return created["id"], make_customer_key(created["id"])


def subscribe(client: TestClient, key: str, url: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, **fields}, headers=bearer(key))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class FakeClock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


FAST = RetryPolicy(max_attempts=3, base_delay_s=5.0, factor=2.0, jitter=0.1, timeout_s=5.0)


def emit(app: FastAPI, customer_id: str, event_type: str = "mint.confirmed", **data: Any) -> str | None:
    with app.state.sessionmaker.begin() as session:
        event = webhooks.emit(session, customer_id, event_type, {"id": "mnt_test", "status": "confirmed", **data})
        return event.id if event else None


def deliveries(client: TestClient, key: str, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=bearer(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- signatures ------------------------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the spec's published test vector
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = signing.headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    signing.verify(secret, headers, body, now=1614265330 + 10)
    with pytest.raises(signing.InvalidSignature, match="no v1 signature"):
        signing.verify(secret, headers, body + b" ", now=1614265330)
    with pytest.raises(signing.InvalidSignature, match="away from now"):  # a replayed old message
        signing.verify(secret, headers, body, now=1614265330 + 301)
    other = signing.generate_secret()
    assert other.startswith("whsec_") and len(signing.secret_key(other)) == 32
    with pytest.raises(signing.InvalidSignature):
        signing.verify(other, headers, body, now=1614265330)


# --- subscriptions API -----------------------------------------------------------------------


def test_a_webhook_is_validated_shows_its_secret_once_belongs_to_its_customer_and_is_audited(
    client: TestClient,
    customer: tuple[str, str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    make_key: Callable[..., str],
    receiver: Receiver,
) -> None:
    customer_id, key = customer
    problem = assert_problem(
        client.post("/v1/webhooks", json={"url": "ftp://hooks.example.com/x"}, headers=bearer(key)),
        422,
        field="body.url",
    )
    assert "http or https" in problem["detail"]
    response = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["mint.done"]}, headers=bearer(key))
    problem = assert_problem(response, 422, field="body.events")
    assert "mint.confirmed" in json.dumps(problem) and "redemption.paid" in json.dumps(problem)
    response = client.post("/v1/webhooks", json={"url": receiver.url, "description": "a\x00b"}, headers=bearer(key))
    assert_problem(response, 422, field="body.description")  # PostgreSQL text cannot hold NUL

    url = receiver.url + "?token=abc"
    created = client.post("/v1/webhooks", json={"url": url, "events": ["mint.confirmed"]}, headers=bearer(key))
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_") and webhook["status"] == "active"
    assert webhook["events"] == ["mint.confirmed"] and webhook["url"] == url

    listed = client.get("/v1/webhooks", headers=bearer(key)).json()["items"]
    assert [w["id"] for w in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"/v1/webhooks/{webhook['id']}", headers=bearer(key)).json()

    other_key = make_customer_key(make_customer(name="Other Ltd")["id"])
    assert client.get("/v1/webhooks", headers=bearer(other_key)).json()["items"] == []
    assert_problem(client.get(f"/v1/webhooks/{webhook['id']}", headers=bearer(other_key)), 404)
    assert_problem(client.delete(f"/v1/webhooks/{webhook['id']}", headers=bearer(other_key)), 404)
    auditor = make_key("auditor")
    assert_problem(client.get("/v1/webhooks", headers=bearer(auditor)), 403)  # customer keys only

    deleted = client.delete(f"/v1/webhooks/{webhook['id']}", headers=bearer(key))
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert client.get("/v1/webhooks", headers=bearer(key)).json()["items"] == []

    # R50: both changes are audited, without the secret or the URL's query (it may hold a token).
    records = client.get("/v1/audit-log", params={"entity_id": webhook["id"]}, headers=bearer(auditor)).json()
    assert [r["action"] for r in records["items"]] == ["webhook.created", "webhook.deleted"]
    assert webhook["secret"] not in json.dumps(records) and "token=abc" not in json.dumps(records)
    assert records["items"][0]["data"]["endpoint"] == receiver.url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://hooks.example.com/x", "http or https"),
        ("hooks.example.com/x", "http or https"),
        ("https:///no-host", "no host"),
        ("https://user:pass@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
        ("https://hooks.example.com/\x00", "control characters"),
    ],
)
def test_a_webhook_url_must_be_http_or_https_with_a_host_and_no_credentials(url: str, says: str) -> None:
    with pytest.raises(ValidationFailed, match=says) as refused:
        webhooks.check_url(url, https_only=False)
    assert refused.value.field == "body.url"


def test_production_mode_accepts_only_https_webhooks() -> None:
    assert webhooks.check_url("https://hooks.example.com/x", https_only=True) == "https://hooks.example.com/x"
    with pytest.raises(ValidationFailed, match="must use https"):
        webhooks.check_url("http://hooks.example.com/x", https_only=True)


NON_PUBLIC_HOSTS = [
    "127.0.0.1:8545",  # the chain's RPC
    "localhost:5432",
    "api.localhost",
    "[::1]:8000",
    "[::ffff:127.0.0.1]",
    "169.254.169.254",  # a cloud's metadata service
    "10.0.0.5",
    "192.168.1.1",
    "100.64.0.1",  # shared address space
    "0",  # 0.0.0.0
    "2130706433",  # 127.0.0.1 written as one number
    "0x7f.0.0.1",
    "127.1",
    "224.0.0.1",  # multicast
    "[::127.0.0.1]",  # IPv4-compatible IPv6
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "127.0.0.1.",  # trailing dot
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits
]


@pytest.mark.parametrize("host", NON_PUBLIC_HOSTS)
def test_without_private_networks_a_webhook_to_a_non_public_address_is_refused_at_registration(host: str) -> None:
    url = f"http://{host}/hooks"
    with pytest.raises(ValidationFailed, match="CNH_WEBHOOK_PRIVATE_NETWORKS") as refused:
        webhooks.check_url(url, https_only=False, private_networks=False)
    assert refused.value.field == "body.url"
    assert webhooks.check_url(url, https_only=False, private_networks=True) == url  # a sandbox on a laptop


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".com", "exa mple.com", "hooks_.example.-com"])
@pytest.mark.parametrize("private_networks", [True, False])
def test_a_host_that_cannot_exist_is_refused_at_registration_whatever_the_setting(
    host: str, private_networks: bool
) -> None:
    with pytest.raises(ValidationFailed, match="not a valid domain name"):
        webhooks.check_url(f"https://{host}/x", https_only=False, private_networks=private_networks)


def test_production_mode_refuses_private_networks_unless_allowed(
    sqlite_database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    production = {"mode": "production", "api_key_pepper": SecretStr("a-production-pepper-0123456789")}
    assert not make_settings(sqlite_database_url, tmp_path, **production).webhooks_reach_private_networks
    assert make_settings(sqlite_database_url, tmp_path).webhooks_reach_private_networks  # sandbox
    settings = make_settings(sqlite_database_url, tmp_path, webhook_private_networks=False)
    app = create_app(settings)
    with TestClient(app) as client:
        operator = client.post("/v1/api-keys", json={"role": "operator", "label": "ops"}, headers=bearer(ADMIN_KEY))
        body = {"name": "Hook Ltd", "kind": "institution", "jurisdiction": "HK"}
        customer = client.post("/v1/customers", json=body, headers=bearer(operator.json()["key"])).json()
        key = client.post(f"/v1/customers/{customer['id']}/api-keys", json={}, headers=bearer(ADMIN_KEY)).json()["key"]
        response = client.post("/v1/webhooks", json={"url": receiver.url}, headers=bearer(key))
        assert "CNH_WEBHOOK_PRIVATE_NETWORKS" in assert_problem(response, 422, field="body.url")["detail"]
        assert client.get("/v1/webhooks", headers=bearer(key)).json()["items"] == []


class _LoopbackCountsAsPublic(Destinations):
    """Lets a test stand in a local receiver for a public endpoint: only the address check differs."""

    def is_public(self, address: IPAddress) -> bool:
        return address.is_loopback


def test_a_delivery_goes_to_the_address_that_was_checked_and_never_to_a_non_public_one(
    app: FastAPI, client: TestClient, customer: tuple[str, str], receiver: Receiver
) -> None:
    """A name that resolves to a private address is refused at each delivery (it may have pointed
    elsewhere at registration: DNS rebinding); one that resolves to a public address is connected
    to at that very address, keeping the name in Host."""
    customer_id, key = customer
    port = receiver.url.split(":")[2].split("/")[0]
    webhook = subscribe(client, key, f"http://hooks.example.test:{port}/hooks/cnh")  # no such name in DNS
    emit(app, customer_id)

    def to_loopback(host: str, _port: int) -> list[str]:
        assert host == "hooks.example.test"
        return ["127.0.0.1"]

    clock = FakeClock()
    guarded = WebhookDispatcher(
        app.state.sessionmaker, policy=FAST, now=clock, destinations=Destinations(False, resolve=to_loopback)
    )
    try:
        assert guarded.deliver_due() == 1
    finally:
        guarded.close()
    [refused] = deliveries(client, key, webhook["id"])
    assert (refused["status"], refused["attempts"], refused["last_status_code"]) == ("pending", 1, None)
    assert "resolves to 127.0.0.1, not a public address" in refused["last_error"]
    assert receiver.received == []

    clock.advance(60)
    pinned = WebhookDispatcher(
        app.state.sessionmaker, policy=FAST, now=clock, destinations=_LoopbackCountsAsPublic(False, resolve=to_loopback)
    )
    try:
        assert pinned.deliver_due() == 1
    finally:
        pinned.close()
    [message] = receiver.received
    assert message.headers["host"] == f"hooks.example.test:{port}"
    signing.verify(webhook["secret"], message.headers, message.body)
    assert deliveries(client, key, webhook["id"])[0]["status"] == "succeeded"


def test_a_delivery_the_http_client_cannot_even_attempt_is_recorded_and_given_up_like_any_other(
    app: FastAPI, client: TestClient, customer: tuple[str, str]
) -> None:
    """A stored URL whose host IDNA cannot encode (registered before hosts were checked) made the
    client raise UnicodeError, which went unrecorded: the delivery was retried forever."""
    customer_id, key = customer
    webhook = subscribe(client, key, "http://hooks.example.com/x")
    with app.state.sessionmaker.begin() as session:
        session.get(WebhookSubscription, webhook["id"]).url = "http://a..b/x"  # type: ignore[union-attr]
    emit(app, customer_id)
    clock = FakeClock()
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=FAST, now=clock)
    try:
        for _ in range(FAST.max_attempts):
            assert dispatcher.deliver_due() == 1
            clock.advance(3600)
        assert dispatcher.deliver_due() == 0
    finally:
        dispatcher.close()
    [failed] = deliveries(client, key, webhook["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", FAST.max_attempts)
    assert [a["attempt"] for a in failed["log"]] == [1, 2, 3] and "UnicodeError" in failed["last_error"]


def test_failed_deliveries_are_retried_with_backoff_until_they_succeed_or_the_attempts_run_out(
    app: FastAPI, client: TestClient, customer: tuple[str, str], receiver: Receiver
) -> None:
    customer_id, key = customer
    webhook = subscribe(client, key, receiver.url)
    dead = subscribe(client, key, closed_local_url())
    event_id = emit(app, customer_id, amount="1000.00")
    receiver.statuses = [500]
    clock = FakeClock()
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=FAST, now=clock)
    try:
        assert dispatcher.deliver_due() == 2  # → 500, and connection refused
        [pending] = deliveries(client, key, webhook["id"])
        assert (pending["status"], pending["attempts"], pending["last_status_code"]) == ("pending", 1, 500)
        wait = datetime.fromisoformat(pending["next_attempt_at"]) - clock.now
        assert timedelta(seconds=5) <= wait <= timedelta(seconds=5.5)  # base delay + at most 10 % jitter

        clock.advance(4.9)
        assert dispatcher.deliver_due() == 0  # not due yet
        clock.advance(0.7)
        assert dispatcher.deliver_due() == 2  # → 200, and refused again
        clock.advance(12)  # the second retry waits twice as long (10 s + at most 10 %)
        assert dispatcher.deliver_due() == 1  # only the dead endpoint is left: its last attempt
        clock.advance(3600)
        assert dispatcher.deliver_due() == 0  # given up: nothing more is due
    finally:
        dispatcher.close()

    [done] = deliveries(client, key, webhook["id"])
    assert (done["status"], done["attempts"], done["event_id"]) == ("succeeded", 2, event_id)
    assert done["next_attempt_at"] is None and done["delivered_at"] is not None
    assert [(a["attempt"], a["status_code"]) for a in done["log"]] == [(1, 500), (2, 200)]
    assert done["log"][0]["error"] == "HTTP 500" and done["log"][1]["error"] is None

    [failed] = deliveries(client, key, dead["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", FAST.max_attempts)
    assert failed["last_status_code"] is None and "ConnectError" in failed["last_error"]
    assert [a["attempt"] for a in failed["log"]] == [1, 2, 3]

    first, second = receiver.received
    assert first.body == second.body  # a retry sends the same message...
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event_id  # ...under the same id
    for message in (first, second):
        signing.verify(webhook["secret"], message.headers, message.body)
        assert message.headers["content-type"] == "application/json"
    assert first.payload["type"] == "mint.confirmed"
    assert first.payload["data"] == {"id": "mnt_test", "status": "confirmed", "amount": "1000.00"}
    assert datetime.fromisoformat(first.payload["timestamp"].replace("Z", "+00:00")) <= utc_now()


@contextmanager
def _trickling_endpoint(first: bytes, then: bytes) -> Iterator[str]:
    """An endpoint that reads the request, sends `first` at once and then `then` every half second,
    so no single read ever waits as long as the dispatcher's timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(first)
                while not stop.wait(0.5):
                    conn.sendall(then)
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/cnh"
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def dribbling_endpoint() -> Iterator[str]:
    """An endpoint that answers 200 at once, then sends its announced body a byte at a time."""
    with _trickling_endpoint(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n", b"x") as url:
        yield url


@pytest.fixture
def slow_headers_endpoint() -> Iterator[str]:
    """An endpoint that starts a 200 and then never finishes its headers, a byte at a time."""
    with _trickling_endpoint(b"HTTP/1.1 200 OK\r\nx-pad: ", b"x") as url:
        yield url


def test_a_2xx_counts_as_delivered_without_waiting_for_a_slow_response_body(
    app: FastAPI, client: TestClient, customer: tuple[str, str], dribbling_endpoint: str
) -> None:
    """The status is the answer: a receiver dribbling a large body used to hold the delivery (and a
    dispatcher thread) long past the timeout and its lease, and its 200 was then logged as a failure."""
    customer_id, key = customer
    webhook = subscribe(client, key, dribbling_endpoint)
    emit(app, customer_id)
    policy = RetryPolicy(max_attempts=3, timeout_s=1.0)
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=policy)
    try:
        started = time.monotonic()
        assert dispatcher.deliver_due() == 1
        assert time.monotonic() - started < policy.lease.total_seconds()
    finally:
        dispatcher.close()
    [done] = deliveries(client, key, webhook["id"])
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("succeeded", 1, 200)
    assert done["log"][0]["duration_ms"] < 1000 * policy.timeout_s


def test_a_receiver_that_never_finishes_its_headers_fails_the_attempt_within_the_timeout_not_the_lease(
    app: FastAPI, client: TestClient, customer: tuple[str, str], slow_headers_endpoint: str
) -> None:
    """The timeout is for the whole answer, not for each read: a receiver trickling its headers a
    byte at a time used to hold a dispatcher thread for as long as it kept sending, past the lease,
    after which another dispatcher sent the same delivery again."""
    customer_id, key = customer
    webhook = subscribe(client, key, slow_headers_endpoint)
    emit(app, customer_id)
    policy = RetryPolicy(max_attempts=3, timeout_s=1.0)
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=policy)
    try:
        finished = threading.Event()
        threading.Thread(target=lambda: (dispatcher.deliver_due(), finished.set()), daemon=True).start()
        assert finished.wait(policy.lease.total_seconds()), "the attempt outlived its lease"
    finally:
        dispatcher.close()
    [pending] = deliveries(client, key, webhook["id"])
    assert (pending["status"], pending["attempts"], pending["last_status_code"]) == ("pending", 1, None)
    assert pending["log"][0]["error"] == "no answer within 1 s"
    assert pending["log"][0]["duration_ms"] < 1000 * (policy.timeout_s + 1)


def test_a_delivery_claimed_by_a_dispatcher_that_died_is_sent_once_its_lease_runs_out(
    app: FastAPI, client: TestClient, customer: tuple[str, str], receiver: Receiver
) -> None:
    customer_id, key = customer
    webhook = subscribe(client, key, receiver.url)
    event_id = emit(app, customer_id)
    clock = FakeClock()
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=FAST, now=clock)
    try:
        assert len(dispatcher.claim(10)) == 1  # ...and the process dies before sending it
        assert dispatcher.deliver_due() == 0  # leased: no second dispatcher takes it meanwhile
        clock.advance(FAST.lease.total_seconds() + 1)
        assert dispatcher.deliver_due() == 1
    finally:
        dispatcher.close()
    [done] = deliveries(client, key, webhook["id"])
    assert (done["status"], done["attempts"]) == ("succeeded", 2)
    assert [a["attempt"] for a in done["log"]] == [2]  # attempt 1 never got an answer to record
    [message] = receiver.received
    assert message.headers["webhook-id"] == event_id


def test_events_are_queued_only_on_commit_only_for_subscriptions_that_want_them_and_none_after_deletion(
    app: FastAPI,
    client: TestClient,
    customer: tuple[str, str],
    receiver: Receiver,
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
) -> None:
    customer_id, key = customer
    everything = subscribe(client, key, receiver.url)
    with app.state.sessionmaker() as session:
        webhooks.emit(session, customer_id, "mint.confirmed", {"id": "mnt_rolled_back"})
        session.rollback()  # the status change failed: its event vanishes with it
    with app.state.sessionmaker() as session:
        assert session.scalars(select(WebhookEvent)).all() == []
    paid_only = subscribe(client, key, receiver.url, events=["redemption.paid"])
    other_id = make_customer(name="Other Ltd")["id"]
    other = subscribe(client, make_customer_key(other_id), receiver.url)

    emit(app, customer_id, "mint.confirmed")
    assert len(deliveries(client, key, everything["id"])) == 1
    assert deliveries(client, key, paid_only["id"]) == []  # filtered by event type
    assert deliveries(client, make_customer_key(other_id), other["id"]) == []  # another customer's event

    client.delete(f"/v1/webhooks/{everything['id']}", headers=bearer(key))
    [cancelled] = deliveries(client, key, everything["id"])
    assert cancelled["status"] == "cancelled"
    dispatcher = WebhookDispatcher(app.state.sessionmaker, policy=FAST)
    try:
        assert dispatcher.deliver_due() == 0
    finally:
        dispatcher.close()
    assert receiver.received == []


# --- end to end on the chain -----------------------------------------------------------------


def test_mint_and_redemption_status_changes_are_delivered_signed_by_the_worker(
    chain_client: TestClient, staff: Staff, receiver: Receiver
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="500.00")
    webhook = subscribe(client, alice.key, receiver.url)

    accepted = request_mint(client, alice, "500.00")
    assert accepted.status_code == 202, accepted.text
    mint_id = accepted.json()["id"]
    # Deliveries run in parallel (Standard Webhooks promises no order): wait for the whole set.
    mint_events = {"mint.approved", "mint.submitted", "mint.confirmed"}
    received = receiver.wait_for(lambda got: mint_events <= {r.payload["type"] for r in got})
    confirmed = next(r for r in received if r.payload["type"] == "mint.confirmed")
    signing.verify(webhook["secret"], confirmed.headers, confirmed.body)
    data = confirmed.payload["data"]
    assert (data["id"], data["status"], data["amount"], data["customer_id"]) == (
        mint_id,
        "confirmed",
        "500.00",
        alice.id,
    )
    assert data["tx_hash"] and data["block_number"]
    # Enqueued in the transaction of the status change: once it is announced, the API agrees.
    assert client.get(f"/v1/mints/{mint_id}", headers=bearer(alice.key)).json()["status"] == "confirmed"

    redeemed = client.post(
        "/v1/redemptions",
        json=redemption_body(client, alice, "100.00"),
        headers=bearer(alice.key, **{"Idempotency-Key": "alice-redeem-1"}),
    )
    assert redeemed.status_code == 202, redeemed.text
    wait_for(client, f"/v1/redemptions/{redeemed.json()['id']}", alice.key, {"paid", "failed"})
    redemption_events = {"redemption.burn_submitted", "redemption.burned", "redemption.paid"}
    receiver.wait_for(lambda got: redemption_events <= {r.payload["type"] for r in got})

    def all_delivered() -> list[dict[str, Any]]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            items = deliveries(client, alice.key, webhook["id"])
            if all(d["status"] == "succeeded" for d in items):
                return items
            time.sleep(0.05)
        raise AssertionError(f"deliveries did not all succeed: {items}")

    log = all_delivered()
    assert len(log) == len(receiver.received) == 6
    assert len({d["event_id"] for d in log}) == 6
