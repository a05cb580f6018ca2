"""Issuing, revoking and bootstrapping API keys. Each change is audited (R42, R50); the key
itself never reaches the database, the audit log or the logs (R43). With two admins or more, a
new staff key (but an auditor's) needs a second admin's approval before it works (R40)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from issuer_service.api_keys import repository, role_changes
from issuer_service.api_keys.models import ApiKey
from issuer_service.api_keys.schemas import ApiKeyOut, CreatedApiKey
from issuer_service.approvals import repository as approval_repository
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.audit import repository as audit_repository
from issuer_service.audit.service import SYSTEM_ACTOR, append_audit
from issuer_service.auth import Principal, Role, generate_api_key, hash_api_key
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customer_repository
from issuer_service.errors import Conflict, NotFound
from issuer_service.ids import new_id

BOOTSTRAP_LABEL = "bootstrap"
ISSUE_ACTION = "api_key.issue"  # an action of the approvals policy (R40)

log = logging.getLogger(__name__)


def _issue(
    session: Session,
    *,
    pepper: str,
    actor: str,
    role: Role,
    label: str,
    customer_id: str | None,
    key: str | None = None,
) -> tuple[ApiKey, str]:
    plaintext = key if key is not None else generate_api_key()
    row = repository.add(
        session,
        ApiKey(
            id=new_id("key"),
            role=role,
            label=label,
            customer_id=customer_id,
            key_hash=hash_api_key(plaintext, pepper),
            created_at=utc_now(),
            created_by=actor,
        ),
    )
    append_audit(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=row.id,
        data={"role": role, "label": label, "customer_id": customer_id},
        rule_ids=["R42"],
    )
    return row, plaintext


def _created(row: ApiKey, plaintext: str) -> CreatedApiKey:
    return CreatedApiKey(key=plaintext, **ApiKeyOut.model_validate(row, from_attributes=True).model_dump())


def create_staff_key(session: Session, *, pepper: str, actor: Principal, role: Role, label: str) -> CreatedApiKey:
    """Issue a staff key. Once two admin keys are active, every staff key that can ask for or
    approve anything (all but auditor) waits for a second admin (`api_key.issue`, R40): otherwise
    one admin could issue themselves a second key of any role and be both maker and checker of
    every dual-control action. The key is shown now and works from the approval on."""
    # One issue at a time (the audit head is a single row every issue locks anyway at commit): two
    # concurrent issues by the only admin must not both find a single admin and both skip approval.
    audit_repository.lock_head(session)
    # Once two admins have existed, dual control stays: revoking or demoting the other admin must
    # not reopen the single-admin window (a lone admin adds a second through CNH_ADMIN_API_KEY at
    # start-up).
    admins_ever = repository.admin_ids_ever_active(session) | role_changes.demoted_admin_ids(session)
    dual_control = len(admins_ever) >= 2
    row, plaintext = _issue(session, pepper=pepper, actor=actor.id, role=role, label=label, customer_id=None)
    if role != "auditor" and dual_control:
        request = approvals.open_request(
            session,
            action=ISSUE_ACTION,
            subject_type="api_key",
            subject_id=row.id,
            payload={"key_id": row.id, "role": role, "label": label},
            summary=f"issue a {role} key to {label}",
            requester=actor,
        )
        row.pending_approval_id = request.id
    return _created(row, plaintext)


def _issue_approved(
    session: Session, request: ApprovalRequest, actor: Principal, _context: approvals.ApprovalContext
) -> None:
    key = repository.lock_by_id(session, request.subject_id)
    if key is None or key.pending_approval_id != request.id or key.revoked_at is not None:
        raise Conflict(f"the key of approval request {request.id} was revoked meanwhile; reject the request")
    if key.role != approvals.payload_of(request)["role"]:  # pragma: no cover - role changes of waiting keys are refused
        raise Conflict(f"the key of approval request {request.id} no longer has the role asked for; reject it")
    key.pending_approval_id = None
    append_audit(
        session,
        actor=actor.id,
        action="api_key.activated",
        entity_type="api_key",
        entity_id=key.id,
        data={"role": key.role, "label": key.label, "approval_id": request.id, "requested_by": request.requested_by},
        rule_ids=["R40", "R42"],
    )


def _issue_rejected(session: Session, request: ApprovalRequest, actor: Principal) -> None:
    key = repository.lock_by_id(session, request.subject_id)
    if key is not None and key.revoked_at is None:
        _revoke(session, key, actor=actor.id, why=f"its issue was not approved ({request.id})")


approvals.register_executor(ISSUE_ACTION, approvals.Executor(on_approved=_issue_approved, on_rejected=_issue_rejected))


def create_customer_key(
    session: Session, *, pepper: str, actor: Principal, customer_id: str, label: str | None
) -> CreatedApiKey:
    if customer_repository.get(session, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    return _created(
        *_issue(
            session, pepper=pepper, actor=actor.id, role="customer", label=label or customer_id, customer_id=customer_id
        )
    )


def revoke_key(session: Session, *, actor: Principal, key_id: str) -> ApiKeyOut:
    """Revoke a key; revoking a revoked key changes nothing. The last active admin key cannot be
    revoked: nobody could then issue keys or resume after a pause."""
    # Lock order: the key's waiting approval (if any), the admins, the key, as approving it does.
    seen = repository.get_by_id(session, key_id)
    pending = None
    if seen is not None and seen.pending_approval_id is not None:
        pending = approval_repository.get(session, seen.pending_approval_id, lock=True)
    admins = repository.lock_active_admins(session)
    key = repository.lock_by_id(session, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        if key.role == "admin" and [admin.id for admin in admins] == [key.id]:
            raise Conflict("this is the last active admin key; issue another admin key before revoking it")
        if pending is not None and key.pending_approval_id == pending.id:  # nothing left to approve
            approvals.cancel(session, pending, actor=actor.id, note=f"key {key.id} revoked")
        _revoke(session, key, actor=actor.id, why=None)
    return ApiKeyOut.model_validate(key, from_attributes=True)


def _revoke(session: Session, key: ApiKey, *, actor: str, why: str | None) -> None:
    # A key revoked while it waited keeps its approval's id: it never worked (admin_ids_ever_active).
    key.revoked_at, key.revoked_by = utc_now(), actor
    append_audit(
        session,
        actor=actor,
        action="api_key.revoked",
        entity_type="api_key",
        entity_id=key.id,
        data={"role": key.role, "label": key.label, "customer_id": key.customer_id, **({"why": why} if why else {})},
        rule_ids=["R42"],
    )


def bootstrap_admin_key(session: Session, *, pepper: str, configured_key: str | None) -> str | None:
    """Make sure an admin can log in after start-up.

    With a configured key (CNH_ADMIN_API_KEY): make sure it exists as an admin key (a revoked
    one stays revoked, a demoted one demoted). Without one: if no active admin key exists at all, create one and return
    it so the caller can show it once. Returns the key to show, or None.
    """
    # The audit head row always exists: locking it first serializes concurrent start-ups, so two
    # processes cannot both find "no admin" and both create one.
    audit_repository.lock_head(session)
    if configured_key is not None:
        existing = repository.get_by_hash(session, hash_api_key(configured_key, pepper))
        if existing is None:
            _issue(
                session,
                pepper=pepper,
                actor=SYSTEM_ACTOR,
                role="admin",
                label=BOOTSTRAP_LABEL,
                customer_id=None,
                key=configured_key,
            )
        elif existing.role != "admin" and existing.id in role_changes.demoted_admin_ids(session):
            # Two admins changed its role (R40): that holds across restarts, as a revocation does.
            log.warning(
                "CNH_ADMIN_API_KEY (%s) has role %s since an approved role change; it keeps it",
                existing.id,
                existing.role,
            )
        elif existing.role != "admin":
            raise RuntimeError(
                f"CNH_ADMIN_API_KEY is the key of {existing.id}, which has role {existing.role}, not admin"
            )
        elif existing.revoked_at is not None:
            log.warning("CNH_ADMIN_API_KEY was revoked (%s); it stays revoked", existing.id)
        return None
    if repository.count_active(session, "admin") > 0:
        return None
    _, plaintext = _issue(
        session, pepper=pepper, actor=SYSTEM_ACTOR, role="admin", label=BOOTSTRAP_LABEL, customer_id=None
    )
    return plaintext
