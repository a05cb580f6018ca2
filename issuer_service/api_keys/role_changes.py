"""Changing a staff key's role (R40, R42): an admin asks, a second, different admin approves
through the general approvals (`POST /v1/approvals/{id}/approve`), and only then does the key's
role change, in the approver's transaction, with its audit record. Authentication reads the role
from the key's row on every request, so the new role holds from the next call on.

The refusals are checked when asking and again when applying: between the two, other keys may be
revoked or demoted, and the last active admin key must never lose its role (nobody could then
issue keys, approve role changes or resume after a pause).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from issuer_service.api_keys import repository
from issuer_service.api_keys.models import ApiKey
from issuer_service.approvals import repository as approval_repository
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.approvals.schemas import ApprovalOut
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal, Role
from issuer_service.errors import Conflict, NotFound

ACTION = "role.change"
SUBJECT_TYPE = "api_key"
KEY_FIELD = "path.key_id"
ROLE_FIELD = "body.role"


def request_role_change(session: Session, *, actor: Principal, key_id: str, role: Role, reason: str) -> ApprovalOut:
    """Open a `role.change` approval; the key keeps its role until a second admin approves."""
    admins = repository.lock_active_admins(session)  # the same lock order as revoke_key
    key = _locked_key(session, key_id)
    _check_change(key, role, admins)
    if pending_role_changes(session, key.id):
        raise Conflict(
            f"API key {key.id} already has a role change waiting for approval; approve, reject or withdraw "
            "that one first (GET /v1/approvals?action=role.change)",
            field=KEY_FIELD,
        )
    request = approvals.open_request(
        session,
        action=ACTION,
        subject_type=SUBJECT_TYPE,
        subject_id=key.id,
        payload={"key_id": key.id, "label": key.label, "role_before": key.role, "role": role, "reason": reason},
        requester=actor,
        summary=f"role of API key {key.id} ({key.label}): {key.role} -> {role}",
    )
    return approvals.to_out(request, [])


def pending_role_changes(session: Session, key_id: str) -> list[ApprovalRequest]:
    return approval_repository.for_subject(session, SUBJECT_TYPE, key_id, action=ACTION, statuses=("pending",))


def demoted_admin_ids(session: Session) -> set[str]:
    """Keys that were admin keys until an approved role change: admins that have existed (R40)."""
    approved = approval_repository.of_action(session, ACTION, statuses=("approved",))
    return {request.subject_id for request in approved if approvals.payload_of(request)["role_before"] == "admin"}


def _locked_key(session: Session, key_id: str) -> ApiKey:
    key = repository.lock_by_id(session, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found", field=KEY_FIELD)
    return key


def _check_change(key: ApiKey, role: str, active_admins: list[ApiKey]) -> None:
    """Refuse a change that cannot or must not happen; `active_admins` are locked by the caller."""
    if key.revoked_at is not None:
        raise Conflict(f"API key {key.id} is revoked; a revoked key keeps its role", field=KEY_FIELD)
    if key.pending_approval_id is not None:
        raise Conflict(
            f"API key {key.id} is waiting for its issue to be approved ({key.pending_approval_id}); decide that first",
            field=KEY_FIELD,
        )
    if key.role == "customer":
        # R42: a customer key is bound to one customer; staff powers need a separate staff key.
        raise Conflict(
            f"API key {key.id} is a customer key; it cannot take a staff role. Issue a staff key "
            "with POST /v1/api-keys instead",
            field=KEY_FIELD,
        )
    if key.role == role:
        raise Conflict(f"API key {key.id} already has role {role}", field=ROLE_FIELD)
    if key.role == "admin" and not [admin for admin in active_admins if admin.id != key.id]:
        raise Conflict(
            f"API key {key.id} is the last active admin key; issue another admin key before changing its role",
            field=ROLE_FIELD,
        )


def _apply(session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext) -> None:
    """Runs in the transaction of the approval that completes the request (R40)."""
    payload = approvals.payload_of(request)
    admins = repository.lock_active_admins(session)
    key = _locked_key(session, request.subject_id)
    role = str(payload["role"])
    try:
        _check_change(key, role, admins)
    except Conflict as refused:
        # No field: the approver's request has no key_id or role; what they can do is reject it.
        raise Conflict(
            f"{refused.detail}; the role change cannot run: reject or withdraw approval request {request.id}"
        ) from None
    role_before = key.role
    key.role = role
    append_audit(
        session,
        actor=actor.id,
        action="api_key.role_changed",
        entity_type=SUBJECT_TYPE,
        entity_id=key.id,
        data={
            "key_id": key.id,
            "label": key.label,
            "role_before": role_before,
            "role": role,
            "approval_id": request.id,
            "requested_by": request.requested_by,
            "approved_by": actor.id,
            "reason": payload["reason"],
        },
        rule_ids=["R40", "R42"],
    )


approvals.register_executor(ACTION, approvals.Executor(on_approved=_apply))
