"""API keys: shown once, stored only as an HMAC, one role each, revocable (R42, R43)."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from issuer_service.api_keys.models import AuthFailure
from issuer_service.app import create_app
from issuer_service.auth import AuthFailureLimiter
from issuer_service.db import make_engine, make_sessionmaker
from issuer_service.errors import RateLimited, Unauthorized
from tests.service.service_helpers import ADMIN_KEY, TEST_PEPPER, assert_problem, bearer, make_settings


def _every_stored_value(engine: Engine) -> str:
    """Every row of every table, as text: what an attacker with a database dump would see."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return "\n".join(
            repr(tuple(row)) for table in metadata.sorted_tables for row in connection.execute(select(table))
        )


def test_keys_are_stored_as_hmac_and_never_in_plaintext(
    client: TestClient, admin_key: str, make_customer: Callable[..., dict[str, Any]], db_engine: Engine
) -> None:
    created = client.post("/v1/api-keys", json={"role": "treasury", "label": "desk"}, headers=bearer(admin_key)).json()
    customer_key = client.post(
        f"/v1/customers/{make_customer()['id']}/api-keys", json={}, headers=bearer(admin_key)
    ).json()["key"]
    dump = _every_stored_value(db_engine)
    for key in (created["key"], customer_key, admin_key):
        assert key not in dump
        assert hmac.new(TEST_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest() in dump


def test_created_key_is_shown_once_with_its_role_and_is_not_cached(client: TestClient, admin_key: str) -> None:
    response = client.post("/v1/api-keys", json={"role": "operator", "label": "ops"}, headers=bearer(admin_key))
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["key"].startswith("cnh_") and len(body["key"]) > 40
    assert body["id"].startswith("key_")
    assert (body["role"], body["label"], body["customer_id"], body["revoked_at"]) == ("operator", "ops", None, None)
    assert client.get("/v1/customers", headers=bearer(body["key"])).status_code == 200


def test_revoked_key_gets_401(client: TestClient, admin_key: str) -> None:
    created = client.post("/v1/api-keys", json={"role": "operator", "label": "x"}, headers=bearer(admin_key)).json()
    revoked = client.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(client.get("/v1/customers", headers=bearer(created["key"])), 401)


def test_revoking_twice_keeps_the_first_revocation(client: TestClient, admin_key: str) -> None:
    created = client.post("/v1/api-keys", json={"role": "auditor", "label": "x"}, headers=bearer(admin_key)).json()
    first = client.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key)).json()
    second = client.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key)).json()
    assert first["revoked_at"] == second["revoked_at"]


def test_revoking_an_unknown_key_is_404(client: TestClient, admin_key: str) -> None:
    assert_problem(client.delete("/v1/api-keys/key_nope", headers=bearer(admin_key)), 404)


def test_last_active_admin_key_cannot_be_revoked(client: TestClient, admin_key: str) -> None:
    admins = client.get("/v1/audit-log", params={"action": "api_key.created"}, headers=bearer(admin_key)).json()
    bootstrap_id = admins["items"][0]["entity_id"]
    assert_problem(client.delete(f"/v1/api-keys/{bootstrap_id}", headers=bearer(admin_key)), 409)
    second = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(admin_key)).json()
    assert client.delete(f"/v1/api-keys/{bootstrap_id}", headers=bearer(second["key"])).status_code == 200
    assert_problem(client.get("/v1/customers", headers=bearer(admin_key)), 401)


def test_only_admins_issue_keys_and_customer_role_needs_the_customer_route(
    client: TestClient, admin_key: str, operator_key: str
) -> None:
    assert_problem(
        client.post("/v1/api-keys", json={"role": "operator", "label": "x"}, headers=bearer(operator_key)), 403
    )
    assert_problem(
        client.post("/v1/api-keys", json={"role": "customer", "label": "x"}, headers=bearer(admin_key)),
        422,
        field="body.role",
    )


def test_customer_key_reads_its_own_customer_but_not_another(
    client: TestClient, make_customer: Callable[..., dict[str, Any]], make_customer_key: Callable[[str], str]
) -> None:
    mine, other = make_customer(name="Mine Ltd"), make_customer(name="Other Ltd")
    key = make_customer_key(mine["id"])
    own = client.get(f"/v1/customers/{mine['id']}", headers=bearer(key))
    assert own.status_code == 200 and own.json()["name"] == "Mine Ltd"
    assert client.get(f"/v1/customers/{mine['id']}/balance", headers=bearer(key)).status_code == 200
    for path in (f"/v1/customers/{other['id']}", f"/v1/customers/{other['id']}/balance"):
        response = client.get(path, headers=bearer(key))
        assert_problem(response, 403)
        assert "Other Ltd" not in response.text
    assert_problem(client.get("/v1/customers", headers=bearer(key)), 403)


def test_customer_key_for_unknown_customer_is_404(client: TestClient, admin_key: str) -> None:
    assert_problem(client.post("/v1/customers/cus_nope/api-keys", json={}, headers=bearer(admin_key)), 404)


def test_repeated_auth_failures_from_one_client_are_rate_limited(sqlite_database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(sqlite_database_url, tmp_path, auth_failure_limit=3))
    with TestClient(app) as client:
        statuses = [client.get("/v1/customers", headers=bearer(f"cnh_guess{i}")).status_code for i in range(3)]
        blocked = client.get("/v1/customers", headers=bearer("cnh_guess-again"))
    assert statuses == [401, 401, 401]
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) >= 1


def _limiter(database_url: str, limit: int, now: list[datetime]) -> tuple[AuthFailureLimiter, Engine]:
    engine = make_engine(database_url)
    return AuthFailureLimiter(make_sessionmaker(engine), limit, clock=lambda: now[0]), engine


def _refused(limiter: AuthFailureLimiter, client: str) -> int:
    refusal = limiter.refuse(client, Unauthorized("no key"))
    return 429 if isinstance(refusal, RateLimited) else 401


def test_auth_failure_window_ends_a_minute_after_its_first_failure(database_url: str) -> None:  # R42
    now = [datetime(2026, 11, 26, 9, 0, tzinfo=UTC)]
    limiter, engine = _limiter(database_url, limit=2, now=now)
    try:
        assert [_refused(limiter, "1.2.3.4") for _ in range(3)] == [401, 401, 429]
        now[0] += timedelta(seconds=20)
        blocked = limiter.refuse("1.2.3.4", Unauthorized("no key"))
        assert isinstance(blocked, RateLimited) and blocked.headers == {"Retry-After": "40"}
        assert _refused(limiter, "5.6.7.8") == 401  # another address has its own count
        now[0] += timedelta(seconds=40)
        assert _refused(limiter, "1.2.3.4") == 401  # a new window, counted from this failure
        assert _refused(limiter, "1.2.3.4") == 401
        assert _refused(limiter, "1.2.3.4") == 429
    finally:
        engine.dispose()


def test_auth_failures_of_clients_gone_quiet_are_deleted_when_a_new_client_fails(database_url: str) -> None:
    now = [datetime(2026, 11, 26, 9, 0, tzinfo=UTC)]
    limiter, engine = _limiter(database_url, limit=5, now=now)
    try:
        for client in ("a", "b", "c"):
            limiter.refuse(client, Unauthorized("no key"))
        now[0] += timedelta(seconds=61)
        limiter.refuse("d", Unauthorized("no key"))
        with engine.connect() as connection:
            assert connection.execute(select(AuthFailure.client)).scalars().all() == ["d"]
    finally:
        engine.dispose()


def test_auth_failures_seen_by_one_process_block_the_client_in_every_process(
    database_url: str, tmp_path: Path
) -> None:  # R42
    """Two service processes on one database (two apps here): the limit holds for their sum, and it
    blocks a valid key in both, while another address is unaffected."""
    first = create_app(make_settings(database_url, tmp_path, auth_failure_limit=3))
    second = create_app(make_settings(database_url, tmp_path, auth_failure_limit=3))
    with TestClient(first, client=("203.0.113.7", 40000)) as guesser_a:  # runs migrations, bootstraps the admin key
        guesser_b = TestClient(second, client=("203.0.113.7", 40001))
        bystander = TestClient(second, client=("198.51.100.9", 40000))
        try:
            statuses = [
                guesser_a.get("/v1/customers", headers=bearer("cnh_guess1")).status_code,
                guesser_b.get("/v1/customers", headers=bearer("cnh_guess2")).status_code,
                guesser_a.get("/v1/customers").status_code,
            ]
            assert statuses == [401, 401, 401]
            for guesser in (guesser_b, guesser_a):
                blocked = guesser.get("/v1/customers", headers=bearer(ADMIN_KEY))
                assert_problem(blocked, 429)
                assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert bystander.get("/v1/audit-log", headers=bearer(ADMIN_KEY)).status_code == 200
        finally:
            second.state.engine.dispose()


@pytest.mark.postgres
def test_concurrent_auth_failures_are_each_counted_once(pg_database_url: str) -> None:  # R42
    """40 failures at once from one address, limit 10: exactly 10 are counted (401), the other 30
    find the address blocked (429) — the count is taken under the row's lock, none is lost."""
    now = [datetime(2026, 11, 26, 9, 0, tzinfo=UTC)]
    limiter, engine = _limiter(pg_database_url, limit=10, now=now)
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(lambda _: _refused(limiter, "203.0.113.7"), range(40)))
        assert statuses == {401: 10, 429: 30}
        with engine.connect() as connection:
            assert connection.execute(select(AuthFailure.failures)).scalar_one() == 10
    finally:
        engine.dispose()


def test_with_two_admins_a_new_staff_key_works_only_once_a_second_admin_approves_it(
    client: TestClient, admin_key: str
) -> None:  # R40, R42
    """One admin could issue themselves a second key of any role and be maker and checker of every
    dual-control action alone. Once two admins exist, a new staff key (but an auditor's) waits for
    the other admin; the key is shown at once and answers 403 until then."""
    second_admin = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(admin_key))
    assert second_admin.status_code == 201 and second_admin.json()["pending_approval_id"] is None  # one admin before
    second = second_admin.json()["key"]

    asked = client.post("/v1/api-keys", json={"role": "operator", "label": "my other hat"}, headers=bearer(admin_key))
    assert asked.status_code == 202, asked.text
    operator, approval_id = asked.json()["key"], asked.json()["pending_approval_id"]
    waiting = assert_problem(client.get("/v1/customers", headers=bearer(operator)), 403)
    assert waiting["reason_code"] == "key_pending_approval" and approval_id in waiting["detail"]
    own = client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=bearer(admin_key))
    assert assert_problem(own, 403)["reason_code"] == "same_principal"
    approved = client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=bearer(second))
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    assert client.get("/v1/customers", headers=bearer(operator)).status_code == 200

    auditor = client.post("/v1/api-keys", json={"role": "auditor", "label": "read only"}, headers=bearer(admin_key))
    assert auditor.status_code == 201 and auditor.json()["pending_approval_id"] is None  # reads only: no approval


def test_a_staff_key_whose_issue_is_rejected_or_that_is_revoked_while_waiting_never_works(
    client: TestClient, admin_key: str
) -> None:  # R40
    second = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(admin_key)).json()["key"]
    rejected = client.post("/v1/api-keys", json={"role": "compliance", "label": "x"}, headers=bearer(admin_key)).json()
    path = f"/v1/approvals/{rejected['pending_approval_id']}/reject"
    decided = client.post(path, json={"note": "no second compliance key for this desk"}, headers=bearer(second))
    assert decided.status_code == 200 and decided.json()["status"] == "rejected"
    assert_problem(client.get("/v1/customers", headers=bearer(rejected["key"])), 401)  # revoked with the rejection

    revoked = client.post("/v1/api-keys", json={"role": "treasury", "label": "y"}, headers=bearer(admin_key)).json()
    assert client.delete(f"/v1/api-keys/{revoked['id']}", headers=bearer(admin_key)).status_code == 200
    approval = client.get(f"/v1/approvals/{revoked['pending_approval_id']}", headers=bearer(second)).json()
    assert approval["status"] == "cancelled"
    assert_problem(client.get("/v1/reserves/assets", headers=bearer(revoked["key"])), 401)
    # A pending admin key is not an admin yet: it cannot keep the last real one from being revoked.
    pending_admin = client.post("/v1/api-keys", json={"role": "admin", "label": "z"}, headers=bearer(admin_key)).json()
    assert pending_admin["pending_approval_id"] is not None
    assert client.delete(f"/v1/api-keys/{pending_admin['id']}", headers=bearer(second)).status_code == 200


def test_revoking_the_other_admin_does_not_bring_back_keys_that_need_no_approval(
    client: TestClient, admin_key: str
) -> None:  # R40
    """Once two admins have existed, a lone admin cannot issue and approve alone: revoking the other
    admin and issuing a new one would otherwise make the same person maker and checker again."""
    second = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(admin_key)).json()
    assert client.delete(f"/v1/api-keys/{second['id']}", headers=bearer(admin_key)).status_code == 200
    third = client.post("/v1/api-keys", json={"role": "admin", "label": "c"}, headers=bearer(admin_key))
    assert third.status_code == 202 and third.json()["pending_approval_id"] is not None
    assert_problem(client.get("/v1/audit-log", headers=bearer(third.json()["key"])), 403)
    moved = client.post(
        f"/v1/api-keys/{third.json()['id']}/role", json={"role": "operator", "reason": "x"}, headers=bearer(admin_key)
    )
    assert "waiting for its issue" in assert_problem(moved, 409, field="path.key_id")["detail"]


def test_demoting_the_other_admin_does_not_bring_back_keys_that_need_no_approval(
    client: TestClient, admin_key: str
) -> None:  # R40
    """A demoted admin has been an admin: once the other admin approves their own demotion, the
    remaining admin must still not issue themselves a second admin key that works at once."""
    second = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(admin_key)).json()
    demotion = client.post(
        f"/v1/api-keys/{second['id']}/role",
        json={"role": "operator", "reason": "moves to ops"},
        headers=bearer(admin_key),
    ).json()
    approved = client.post(f"/v1/approvals/{demotion['id']}/approve", json={}, headers=bearer(second["key"]))
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    third = client.post("/v1/api-keys", json={"role": "admin", "label": "my other hat"}, headers=bearer(admin_key))
    assert third.status_code == 202 and third.json()["pending_approval_id"] is not None, third.text
    assert_problem(client.get("/v1/audit-log", headers=bearer(third.json()["key"])), 403)


@pytest.mark.postgres
def test_concurrent_issues_by_the_only_admin_make_at_most_one_key_without_approval(
    pg_database_url: str, tmp_path: Path
) -> None:  # R40
    app = create_app(make_settings(pg_database_url, tmp_path))
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:
        issued = list(
            pool.map(
                lambda i: client.post(
                    "/v1/api-keys", json={"role": "admin", "label": f"race {i}"}, headers=bearer(ADMIN_KEY)
                ),
                range(4),
            )
        )
    assert sorted(r.status_code for r in issued) == [201, 202, 202, 202]
