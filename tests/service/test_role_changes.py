"""Staff role changes through the general approvals (R40, R42): an admin asks with
`POST /v1/api-keys/{id}/role`, nothing changes until a second, different admin approves, and then
the key acts with its new role at once. Every refusal names its field and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.service.service_helpers import assert_problem, bearer

REASON = "moved from the ops desk to the treasury team"


def _issue(client: TestClient, admin_key: str, role: str) -> tuple[str, str]:
    """A staff key: (id, plaintext key)."""
    created = client.post("/v1/api-keys", json={"role": role, "label": f"test {role}"}, headers=bearer(admin_key))
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["key"]


def _ask(client: TestClient, requester: str, key_id: str, role: str, reason: str = REASON) -> Any:
    return client.post(f"/v1/api-keys/{key_id}/role", json={"role": role, "reason": reason}, headers=bearer(requester))


def _approve(client: TestClient, approver: str, approval_id: str) -> Any:
    return client.post(f"/v1/approvals/{approval_id}/approve", json={"note": "checked"}, headers=bearer(approver))


def _state(engine: Engine) -> tuple[Any, ...]:
    """What a refusal must leave untouched: every key's role, the approval requests, the audit log."""
    with engine.connect() as db:
        return (
            db.execute(text("SELECT id, role, revoked_at FROM api_keys ORDER BY id")).all(),
            db.execute(text("SELECT id, status FROM approval_requests ORDER BY id")).all(),
            db.execute(text("SELECT count(*) FROM audit_log")).scalar_one(),
        )


def _bootstrap_admin_id(client: TestClient, admin_key: str) -> str:
    created = client.get("/v1/audit-log", params={"action": "api_key.created"}, headers=bearer(admin_key)).json()
    return str(created["items"][0]["entity_id"])


def test_a_role_change_applies_only_after_a_second_admin_approves_and_the_key_acts_with_its_new_role_at_once(
    client: TestClient, admin_key: str
) -> None:  # R40, R42
    key_id, key = _issue(client, admin_key, "operator")
    _, second_admin = _issue(client, admin_key, "admin")
    asked = _ask(client, admin_key, key_id, "treasury")
    assert asked.status_code == 202, asked.text
    change = asked.json()
    assert (change["action"], change["status"], change["subject_type"], change["subject_id"]) == (
        "role.change",
        "pending",
        "api_key",
        key_id,
    )
    assert change["payload"] == {
        "key_id": key_id,
        "label": "test operator",
        "role_before": "operator",
        "role": "treasury",
        "reason": REASON,
    }
    assert (change["approver_roles"], change["required_approvals"], change["rule_ids"]) == (
        ["admin"],
        1,
        ["R40", "R42"],
    )

    # Nothing changed yet: the key still acts as an operator and not as treasury.
    assert client.get("/v1/customers", headers=bearer(key)).status_code == 200
    assert_problem(client.get("/v1/reserves/assets", headers=bearer(key)), 403)

    approved = _approve(client, second_admin, change["id"])
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    # Authentication reads the role on every request: the next call already sees treasury.
    assert client.get("/v1/reserves/assets", headers=bearer(key)).status_code == 200
    refused = assert_problem(client.get("/v1/customers", headers=bearer(key)), 403)
    assert "yours has role treasury" in refused["detail"]

    audit = client.get("/v1/audit-log", params={"entity_id": key_id}, headers=bearer(admin_key)).json()["items"]
    changed = [record for record in audit if record["action"] == "api_key.role_changed"]
    assert len(changed) == 1
    second_admin_id = approved.json()["approvals"][0]["approver_id"]
    assert changed[0]["actor"] == second_admin_id
    assert changed[0]["rule_ids"] == ["R40", "R42"]
    assert changed[0]["data"] == {
        "key_id": key_id,
        "label": "test operator",
        "role_before": "operator",
        "role": "treasury",
        "approval_id": change["id"],
        "requested_by": change["requested_by"],
        "approved_by": second_admin_id,
        "reason": REASON,
    }
    assert change["requested_by"] != second_admin_id
    verified = client.get("/v1/audit-log/verify", headers=bearer(admin_key)).json()
    assert verified["ok"] is True


def test_the_requesting_admin_cannot_approve_their_own_role_change_and_nothing_changes(
    client: TestClient, admin_key: str, db_engine: Engine
) -> None:  # R40: never the maker
    key_id, key = _issue(client, admin_key, "auditor")
    change = _ask(client, admin_key, key_id, "compliance").json()
    before = _state(db_engine)
    refused = assert_problem(_approve(client, admin_key, change["id"]), 403)
    assert refused["reason_code"] == "same_principal"
    assert _state(db_engine) == before
    assert client.get("/v1/audit-log/verify", headers=bearer(key)).status_code == 200  # still an auditor


def test_only_an_admin_may_ask_for_or_approve_a_role_change(
    client: TestClient, admin_key: str, make_key: Callable[..., str], db_engine: Engine
) -> None:  # R42
    key_id, _ = _issue(client, admin_key, "operator")
    operator, compliance = make_key("operator"), make_key("compliance")
    before = _state(db_engine)
    for caller in (operator, compliance):
        assert_problem(_ask(client, caller, key_id, "admin"), 403)
    assert _state(db_engine) == before
    change = _ask(client, admin_key, key_id, "compliance").json()
    refused = assert_problem(_approve(client, compliance, change["id"]), 403)
    assert refused["reason_code"] == "approver_role_not_allowed"
    assert client.get(f"/v1/approvals/{change['id']}", headers=bearer(compliance)).json()["status"] == "pending"


def test_a_role_change_of_an_unknown_or_revoked_key_is_refused_naming_the_key(
    client: TestClient, admin_key: str, db_engine: Engine
) -> None:
    key_id, _ = _issue(client, admin_key, "operator")
    assert client.delete(f"/v1/api-keys/{key_id}", headers=bearer(admin_key)).status_code == 200
    before = _state(db_engine)
    assert_problem(_ask(client, admin_key, "key_nope", "auditor"), 404, field="path.key_id")
    revoked = assert_problem(_ask(client, admin_key, key_id, "auditor"), 409, field="path.key_id")
    assert "revoked" in revoked["detail"]
    assert _state(db_engine) == before


def test_a_customer_key_never_takes_a_staff_role_and_no_key_becomes_a_customer_key(
    client: TestClient,
    admin_key: str,
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    db_engine: Engine,
) -> None:  # R42: a customer key is bound to one customer; staff powers need a staff key
    customer_key = make_customer_key(make_customer()["id"])
    listed = client.get("/v1/audit-log", params={"action": "api_key.created"}, headers=bearer(admin_key)).json()
    customer_key_id = next(r["entity_id"] for r in listed["items"] if r["data"]["role"] == "customer")
    staff_key_id, _ = _issue(client, admin_key, "operator")
    before = _state(db_engine)
    refused = assert_problem(_ask(client, admin_key, customer_key_id, "operator"), 409, field="path.key_id")
    assert "customer key" in refused["detail"]
    assert_problem(_ask(client, admin_key, staff_key_id, "customer"), 422, field="body.role")
    assert _state(db_engine) == before
    assert client.get("/v1/customers", headers=bearer(customer_key)).status_code == 403  # still a customer key


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "auditor", "reason": "   "}, "body.reason"),
        ({"role": "auditor", "reason": "x" * 501}, "body.reason"),
        ({"role": "auditor"}, "body.reason"),
        ({"role": "superuser", "reason": REASON}, "body.role"),
    ],
)
def test_a_role_change_needs_a_staff_role_and_a_reason(
    client: TestClient, admin_key: str, db_engine: Engine, body: dict[str, str], field: str
) -> None:
    key_id, _ = _issue(client, admin_key, "operator")
    before = _state(db_engine)
    assert_problem(client.post(f"/v1/api-keys/{key_id}/role", json=body, headers=bearer(admin_key)), 422, field=field)
    assert _state(db_engine) == before


def test_asking_for_the_role_a_key_already_has_is_refused(
    client: TestClient, admin_key: str, db_engine: Engine
) -> None:
    key_id, _ = _issue(client, admin_key, "treasury")
    before = _state(db_engine)
    refused = assert_problem(_ask(client, admin_key, key_id, "treasury"), 409, field="body.role")
    assert "already has role treasury" in refused["detail"]
    assert _state(db_engine) == before


def test_a_second_role_change_of_a_key_waits_until_the_first_is_decided(
    client: TestClient, admin_key: str, db_engine: Engine
) -> None:
    key_id, _ = _issue(client, admin_key, "operator")
    first = _ask(client, admin_key, key_id, "compliance").json()
    before = _state(db_engine)
    refused = assert_problem(_ask(client, admin_key, key_id, "auditor"), 409, field="path.key_id")
    assert "waiting for approval" in refused["detail"]
    assert _state(db_engine) == before
    withdrawn = client.post(
        f"/v1/approvals/{first['id']}/reject", json={"note": "asked for the wrong role"}, headers=bearer(admin_key)
    )
    assert withdrawn.json()["status"] == "cancelled"
    assert _ask(client, admin_key, key_id, "auditor").status_code == 202


def test_the_last_active_admin_key_cannot_be_demoted(client: TestClient, admin_key: str, db_engine: Engine) -> None:
    bootstrap_id = _bootstrap_admin_id(client, admin_key)
    before = _state(db_engine)
    refused = assert_problem(_ask(client, admin_key, bootstrap_id, "auditor"), 409, field="body.role")
    assert "last active admin" in refused["detail"]
    assert _state(db_engine) == before


def test_a_demotion_that_would_leave_no_admin_by_the_time_it_is_approved_is_refused_and_stays_pending(
    client: TestClient, admin_key: str, db_engine: Engine
) -> None:  # R40, R42: checked when asking and again when applying
    bootstrap_id = _bootstrap_admin_id(client, admin_key)
    second_id, second_admin = _issue(client, admin_key, "admin")
    # Two admins: demoting the second leaves the bootstrap admin, so the request is accepted...
    change = _ask(client, admin_key, second_id, "operator").json()
    assert change["status"] == "pending"
    # ...but then the second admin revokes the bootstrap key and is the only admin left.
    assert client.delete(f"/v1/api-keys/{bootstrap_id}", headers=bearer(second_admin)).status_code == 200
    before = _state(db_engine)
    refused = assert_problem(_approve(client, second_admin, change["id"]), 409)
    assert "last active admin" in refused["detail"] and change["id"] in refused["detail"]
    assert _state(db_engine) == before  # the approval vote was rolled back too
    assert client.get(f"/v1/approvals/{change['id']}", headers=bearer(second_admin)).json()["status"] == "pending"
    assert client.get("/v1/admin/state", headers=bearer(second_admin)).status_code == 200  # still an admin
