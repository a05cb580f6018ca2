"""Pause is immediate and single-signer; resume needs two different admins (R40, R41).

The chain worker mirrors the flag onto the token's pause; this module owns the flag and its audit
records. A resume is a `system.resume` request of the general approvals mechanism, so it is listed,
approved and rejected under `/v1/approvals` like every other dual-control action.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.approval_policy import default_policy
from compliance.approvals import check_second_approval
from issuer_service.admin import repository
from issuer_service.admin.schemas import SystemStatusOut
from issuer_service.approvals import repository as approvals_repository
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.approvals.schemas import ApprovalDecisionIn
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, Forbidden
from issuer_service.outbox import repository as outbox

RESUME = "system.resume"  # an action of the approvals policy (R40): who may ask, who must approve
RESUME_APPROVER_ROLES = default_policy().rule(RESUME).approver_roles


def is_paused(session: Session, *, hold: bool = False) -> bool:
    """Whether the service is paused (R41). A transaction that moves money on the answer passes
    `hold=True`: a pause committing meanwhile waits for it (or it sees the pause), so nothing is
    accepted or approved after a pause has committed."""
    return repository.read_state(session, hold=hold).paused


def get_status(session: Session) -> SystemStatusOut:
    state = repository.read_state(session)
    pending = _pending_resume(session) if state.paused else None
    return _status(state.paused, pending)


def _pending_resume(session: Session, *, lock: bool = False) -> ApprovalRequest | None:
    """The resume waiting for its second admin. Locked first, before the pause flag, by everything
    that changes either: approving it through /v1/approvals locks it, then the flag (`_resumed`), and
    taking the two in the other order here would deadlock against that."""
    found = approvals_repository.for_subject(session, "system", "pause", action=RESUME, statuses=("pending",))
    if not found or not lock:
        return found[0] if found else None
    locked = approvals_repository.get(session, found[0].id, lock=True)
    return locked if locked is not None and locked.status == "pending" else None


def _status(paused: bool, pending: ApprovalRequest | None) -> SystemStatusOut:
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
    pending = _pending_resume(session, lock=True)
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
    if pending is not None:
        approvals.cancel(session, pending, actor=actor.id, note="paused again")
        append_audit(
            session,
            actor=actor.id,
            action="system.resume_cancelled",
            entity_type="approval_request",
            entity_id=pending.id,
            data={"requested_by": pending.requested_by},
            rule_ids=["R40", "R41"],
        )
    return _status(True, None)


def resume(
    session: Session, *, actor: Principal, context: approvals.ApprovalContext
) -> tuple[SystemStatusOut, bool]:
    """First admin: opens a `system.resume` approval request. A second, different admin: approves
    it, and the service resumes (R40, R41); `POST /v1/approvals/{id}/approve` does the same.
    Returns the status and whether the service actually resumed."""
    pending = _pending_resume(session, lock=True)
    state = repository.lock_state(session)
    if not state.paused:
        raise Conflict("the service is not paused; there is nothing to resume")
    if pending is None:
        pending = approvals.open_request(
            session,
            action=RESUME,
            subject_type="system",
            subject_id="pause",
            payload={},
            summary="resume minting, redemptions and transfers",
            requester=actor,
        )
        append_audit(
            session,
            actor=actor.id,
            action="system.resume_requested",
            entity_type="approval_request",
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
    approvals.approve(session, actor=actor, request_id=pending.id, body=ApprovalDecisionIn(), context=context)
    return _status(False, None), True


def _resumed(session: Session, request: ApprovalRequest, actor: Principal, _context: approvals.ApprovalContext) -> None:
    """The resume request has its approvals: lift the pause here and, through the outbox, on chain."""
    state = repository.lock_state(session)
    now = utc_now()
    state.paused, state.changed_at, state.changed_by = False, now, actor.id
    outbox.enqueue(session, function="unpause", args=[], entity_type="system", entity_id="pause")
    append_audit(
        session,
        actor=actor.id,
        action="system.resumed",
        entity_type="approval_request",
        entity_id=request.id,
        data={"requested_by": request.requested_by, "approved_by": actor.id},
        rule_ids=["R40", "R41"],
    )


approvals.register_executor(RESUME, approvals.Executor(on_approved=_resumed))
