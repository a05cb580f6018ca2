"""Pause is immediate and single-signer; resume needs two different admins (R40, R41)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer_service.admin.service import is_paused
from tests.service.service_helpers import assert_problem, bearer


def _paused(client: TestClient) -> bool:
    session: Session
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        return is_paused(session)


def test_one_admin_pauses_immediately(client: TestClient, admin_key: str) -> None:
    response = client.post("/v1/admin/pause", headers=bearer(admin_key))
    assert response.status_code == 200
    assert response.json()["status"] == "paused"
    assert _paused(client) is True


def test_resume_needs_a_second_different_admin(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:
    second_admin = make_key("admin")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    first = client.post("/v1/admin/resume", headers=bearer(admin_key))
    assert first.status_code == 202
    assert first.json()["status"] == "pending_second_approval"
    assert _paused(client) is True
    same_again = client.post("/v1/admin/resume", headers=bearer(admin_key))
    problem = assert_problem(same_again, 403)
    assert problem["reason_code"] == "same_principal" and "R41" in problem["detail"]
    assert _paused(client) is True
    second = client.post("/v1/admin/resume", headers=bearer(second_admin))
    assert second.status_code == 200
    assert second.json() == {"status": "active", "paused": False, "pending_approval_id": None, "requested_by": None}
    assert _paused(client) is False


def test_pausing_again_cancels_a_pending_resume(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:
    second_admin = make_key("admin")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    client.post("/v1/admin/resume", headers=bearer(admin_key))
    client.post("/v1/admin/pause", headers=bearer(second_admin))
    restarted = client.post("/v1/admin/resume", headers=bearer(second_admin))
    assert restarted.status_code == 202  # a fresh request, not the completion of the cancelled one
    assert _paused(client) is True


def test_resume_when_not_paused_is_409(client: TestClient, admin_key: str) -> None:
    assert_problem(client.post("/v1/admin/resume", headers=bearer(admin_key)), 409)


def test_only_admins_pause_or_resume(client: TestClient, make_key: Callable[..., str]) -> None:
    operator = make_key("operator")
    assert_problem(client.post("/v1/admin/pause", headers=bearer(operator)), 403)
    assert_problem(client.post("/v1/admin/resume", headers=bearer(operator)), 403)
    assert _paused(client) is False


def test_state_endpoint_and_audit_show_the_whole_story(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:
    second_admin, auditor = make_key("admin"), make_key("auditor")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    client.post("/v1/admin/resume", headers=bearer(admin_key))
    pending = client.get("/v1/admin/state", headers=bearer(auditor)).json()
    assert pending["status"] == "pending_second_approval" and pending["pending_approval_id"].startswith("apq_")
    client.post("/v1/admin/resume", headers=bearer(second_admin))
    actions = [
        (r["action"], r["rule_ids"])
        for r in client.get("/v1/audit-log", headers=bearer(auditor)).json()["items"]
        if r["action"].startswith("system.")
    ]
    assert actions == [
        ("system.paused", ["R41"]),
        ("system.resume_requested", ["R40", "R41"]),
        ("system.resumed", ["R40", "R41"]),
    ]


def test_a_pending_resume_is_an_approval_request_a_second_admin_can_approve_or_reject_there(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:  # R40, R41
    """One mechanism for every dual-control action: the resume is listed, shown, approved and
    rejected under /v1/approvals like the others, with the same rule against self-approval."""
    second_admin, auditor = make_key("admin"), make_key("auditor")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    requested = client.post("/v1/admin/resume", headers=bearer(admin_key)).json()
    approval_id = requested["pending_approval_id"]
    shown = client.get(f"/v1/approvals/{approval_id}", headers=bearer(auditor))
    assert shown.status_code == 200, shown.text
    assert (shown.json()["action"], shown.json()["status"], shown.json()["requested_by"]) == (
        "system.resume",
        "pending",
        requested["requested_by"],
    )
    listed = client.get("/v1/approvals", params={"action": "system.resume"}, headers=bearer(auditor)).json()
    assert [a["id"] for a in listed["items"]] == [approval_id]

    rejected = client.post(
        f"/v1/approvals/{approval_id}/reject", json={"note": "not yet"}, headers=bearer(second_admin)
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert _paused(client) is True
    assert client.get("/v1/admin/state", headers=bearer(auditor)).json()["status"] == "paused"

    again = client.post("/v1/admin/resume", headers=bearer(admin_key)).json()["pending_approval_id"]
    assert again != approval_id
    assert_problem(client.post(f"/v1/approvals/{again}/approve", json={}, headers=bearer(admin_key)), 403)
    approved = client.post(f"/v1/approvals/{again}/approve", json={}, headers=bearer(second_admin))
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    assert _paused(client) is False


def test_pausing_again_leaves_the_cancelled_resume_request_on_record(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:
    second_admin, auditor = make_key("admin"), make_key("auditor")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    approval_id = client.post("/v1/admin/resume", headers=bearer(admin_key)).json()["pending_approval_id"]
    client.post("/v1/admin/pause", headers=bearer(second_admin))
    cancelled = client.get(f"/v1/approvals/{approval_id}", headers=bearer(auditor)).json()
    assert (cancelled["status"], cancelled["decision_note"]) == ("cancelled", "paused again")
    assert cancelled["decided_by"] not in (None, cancelled["requested_by"])  # the second admin, who paused
    assert_problem(client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=bearer(second_admin)), 409)
    assert _paused(client) is True


def test_a_resume_asked_for_with_a_key_revoked_since_does_not_let_one_admin_resume_alone(
    client: TestClient, admin_key: str, make_key: Callable[..., str]
) -> None:  # R40, R41
    """A key revoked (say, leaked) is no longer a principal: the resume it asked for cannot be
    completed by the one admin left, who must ask afresh and find a second admin."""
    second_admin = make_key("admin")
    client.post("/v1/admin/pause", headers=bearer(admin_key))
    asked = client.post("/v1/admin/resume", headers=bearer(admin_key)).json()
    approval_id, maker_id = asked["pending_approval_id"], asked["requested_by"]
    assert client.delete(f"/v1/api-keys/{maker_id}", headers=bearer(second_admin)).status_code == 200

    refused = assert_problem(client.post("/v1/admin/resume", headers=bearer(second_admin)), 409)
    assert maker_id in refused["detail"] and "revoked" in refused["detail"]
    assert _paused(client) is True
    via_approvals = client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=bearer(second_admin))
    assert_problem(via_approvals, 409)
    assert _paused(client) is True
    assert client.get(f"/v1/approvals/{approval_id}", headers=bearer(second_admin)).json()["status"] == "pending"

    rejected = client.post(
        f"/v1/approvals/{approval_id}/reject", json={"note": "asked with a leaked key"}, headers=bearer(second_admin)
    )
    assert rejected.status_code == 200, rejected.text
    assert client.post("/v1/admin/resume", headers=bearer(second_admin)).status_code == 202  # asks afresh
    assert _paused(client) is True
