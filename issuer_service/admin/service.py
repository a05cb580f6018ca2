"""Pause is immediate and single-signer; resume needs two different admins (R40, R41).

The chain worker (lead) mirrors the flag onto the token's pause; this module owns the flag, the
approvals and their audit records.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.approval_policy import default_policy
from compliance.approvals import check_second_approval
from issuer_service.admin import repository
from issuer_service.admin.models import Approval
from issuer_service.admin.schemas import SystemStatusOut
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, Forbidden
from issuer_service.ids import new_id
from issuer_service.outbox import repository as outbox

RESUME = "resume"
RESUME_APPROVER_ROLES = default_policy().rule("system.resume").approver_roles  # R40: policy data


def is_paused(session: Session) -> bool:
    return repository.read_state(session).paused


def get_status(session: Session) -> SystemStatusOut:
    state = repository.read_state(session)
    pending = repository.pending_approval(session, RESUME) if state.paused else None
    return _status(state.paused, pending)


def _status(paused: bool, pending: Approval | None) -> SystemStatusOut:
    if not paused:
        return SystemStatusOut(status="active", paused=False, pending_approval_id=None, requested_by=None)
    if pending is None:
        return SystemStatusOut(status="paused", paused=True, pending_approval_id=None, requested_by=None)
    return SystemStatusOut(
        status="pending_second_approval", paused=True, pending_approval_id=pending.id, requested_by=pending.requested_by
    )


def pause(session: Session, *, actor: Principal) -> SystemStatusOut:
    """Pause now (R41). Pausing while paused cancels a pending resume: whoever pauses again
    wants the service to stay paused, so the earlier resume request must not complete."""
    state = repository.lock_state(session)
    now = utc_now()
    if not state.paused:
        state.paused, state.changed_at, state.changed_by = True, now, actor.id
        # R41 on chain too: the worker signs pause ahead of anything else waiting in the outbox.
        outbox.enqueue(session, function="pause", args=[], entity_type="system", entity_id="pause")
        append_audit(
            session,
            actor=actor.id,
            action="system.paused",
            entity_type="system",
            entity_id="pause",
            data={},
            rule_ids=["R41"],
        )
    pending = repository.pending_approval(session, RESUME)
    if pending is not None:
        pending.status, pending.decided_by, pending.decided_at = "cancelled", actor.id, now
        append_audit(
            session,
            actor=actor.id,
            action="system.resume_cancelled",
            entity_type="approval",
            entity_id=pending.id,
            data={"requested_by": pending.requested_by},
            rule_ids=["R40", "R41"],
        )
    return _status(True, None)


def resume(session: Session, *, actor: Principal) -> tuple[SystemStatusOut, bool]:
    """First admin: records a resume request. A second, different admin: resumes (R40, R41).
    Returns the status and whether the service actually resumed."""
    state = repository.lock_state(session)
    if not state.paused:
        raise Conflict("the service is not paused; there is nothing to resume")
    pending = repository.pending_approval(session, RESUME)
    now = utc_now()
    if pending is None:
        pending = repository.add_approval(
            session,
            Approval(id=new_id("apr"), action=RESUME, status="pending", requested_by=actor.id, requested_at=now),
        )
        append_audit(
            session,
            actor=actor.id,
            action="system.resume_requested",
            entity_type="approval",
            entity_id=pending.id,
            data={},
            rule_ids=["R40", "R41"],
        )
        return _status(True, pending), False
    decision = check_second_approval(pending.requested_by, actor.id, actor.role, RESUME_APPROVER_ROLES)
    if not decision.allowed:
        raise Forbidden(
            f"{decision.message} (R41: resume needs a second, different admin)", reason_code=decision.reason_code
        )
    pending.status, pending.decided_by, pending.decided_at = "approved", actor.id, now
    state.paused, state.changed_at, state.changed_by = False, now, actor.id
    outbox.enqueue(session, function="unpause", args=[], entity_type="system", entity_id="pause")
    append_audit(
        session,
        actor=actor.id,
        action="system.resumed",
        entity_type="approval",
        entity_id=pending.id,
        data={"requested_by": pending.requested_by, "approved_by": actor.id},
        rule_ids=["R40", "R41"],
    )
    return _status(False, None), True
