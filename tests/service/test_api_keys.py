"""API keys: shown once, stored only as an HMAC, one role each, revocable (R42, R43)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from issuer_service.app import create_app
from issuer_service.auth import AuthFailureLimiter
from tests.service.service_helpers import TEST_PEPPER, assert_problem, bearer, make_settings


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


def test_auth_failure_window_slides_after_a_minute() -> None:
    now = [1000.0]
    limiter = AuthFailureLimiter(limit=2, clock=lambda: now[0])
    limiter.record_failure("1.2.3.4")
    limiter.record_failure("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 61
    assert limiter.retry_after("5.6.7.8") is None
    now[0] += 60.5
    assert limiter.retry_after("1.2.3.4") is None


def test_auth_failure_limiter_forgets_quiet_clients_to_bound_memory() -> None:
    now = [0.0]
    limiter = AuthFailureLimiter(limit=5, clock=lambda: now[0])
    limiter.MAX_TRACKED_CLIENTS = 3
    for client in ("a", "b", "c"):
        limiter.record_failure(client)
    now[0] += 61
    limiter.record_failure("d")
    assert set(limiter._failures) == {"d"}
