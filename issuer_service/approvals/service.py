"""The general approvals mechanism (R40): a domain opens a request for a policy action; distinct
principals with an allowed role approve; when enough have, the domain's executor runs in the same
transaction as the last approval. A rejection (or the requester withdrawing) runs the domain's
rejection hook instead. Every step writes an audit record (R50).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from compliance.approval_policy import (
    ApprovalPolicy,
    ApprovalRule,
    approvals_complete,
    check_approval,
    check_requester,
    default_policy,
)
from compliance.profiles import RegimeProfile
from issuer_service.api_keys import repository as key_repository
from issuer_service.approvals import repository
from issuer_service.approvals.models import ApprovalRequest, ApprovalVote
from issuer_service.approvals.schemas import (
    ApprovalDecisionIn,
    ApprovalOut,
    ApprovalRejectIn,
    ApprovalVoteOut,
    PolicyOut,
    PolicyRuleOut,
)
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.pagination import Page, decode_cursor, page_of


@dataclass(frozen=True)
class ApprovalContext:
    """What an executor may need besides the database: the regime profile, the chain gateway
    (None without a chain) and the final approver's reference and note."""

    profile: RegimeProfile
    gateway: Any = None
    reference: str | None = None
    note: str | None = None


OnApproved = Callable[[Session, ApprovalRequest, Principal, ApprovalContext], None]
OnRejected = Callable[[Session, ApprovalRequest, Principal], None]


@dataclass(frozen=True)
class Executor:
    on_approved: OnApproved
    on_rejected: OnRejected | None = None


_EXECUTORS: dict[str, Executor] = {}


def register_executor(action: str, executor: Executor) -> None:
    policy().rule(action)  # an action the policy does not know can never be approved
    _EXECUTORS[action] = executor


def policy() -> ApprovalPolicy:
    return default_policy()


def _rule_of(request: ApprovalRequest) -> ApprovalRule:
    # The stored count and roles, not today's policy: approvals in flight keep their terms.
    return replace(
        policy().rule(request.action),
        approvals_required=request.required_approvals,
        approver_roles=frozenset(request.approver_roles.split(",")),
    )


def open_request(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
    summary: str,
    requester: Principal,
) -> ApprovalRequest:
    """Open a request in the caller's transaction. Refuses a requester role the policy does not name."""
    rule = policy().rule(action)
    decision = check_requester(rule, requester.role)
    if not decision.allowed:
        raise Forbidden(decision.message, reason_code=decision.reason_code)
    request = repository.add(
        session,
        ApprovalRequest(
            id=new_id("apq"),
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            summary=summary[:300],
            payload_json=json.dumps(payload, sort_keys=True),
            status="pending",
            required_approvals=rule.approvals_required,
            approver_roles=",".join(sorted(rule.approver_roles)),
            requested_by=requester.id,
            requester_role=requester.role,
            created_at=utc_now(),
        ),
    )
    append_audit(
        session,
        actor=requester.id,
        action="approval.requested",
        entity_type="approval_request",
        entity_id=request.id,
        data={
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "payload": payload,
            "required_approvals": rule.approvals_required,
        },
        rule_ids=list(rule.rule_ids),
    )
    return request


def payload_of(request: ApprovalRequest) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.payload_json)
    return data


def approve(
    session: Session, *, actor: Principal, request_id: str, body: ApprovalDecisionIn, context: ApprovalContext
) -> ApprovalOut:
    request = _pending(session, request_id)
    rule = _rule_of(request)
    votes = repository.votes(session, request.id)
    decision = check_approval(
        rule,
        requester_id=request.requested_by,
        approver_id=actor.id,
        approver_role=actor.role,
        prior_approver_ids=[v.approver_id for v in votes],
    )
    if not decision.allowed:  # R40: not the maker, not twice, only the policy's roles
        raise Forbidden(decision.message, reason_code=decision.reason_code)
    if rule.reference_required and body.reference is None:
        raise ValidationFailed(
            f"approving {request.action} needs a reference to the evidence (for example the EDD report's file number)",
            field="body.reference",
        )
    vote = repository.add_vote(
        session,
        ApprovalVote(
            id=new_id("apv"),
            request_id=request.id,
            approver_id=actor.id,
            approver_role=actor.role,
            reference=body.reference,
            note=body.note,
            created_at=utc_now(),
        ),
    )
    votes.append(vote)
    # R40: a key revoked since (say, leaked) is no longer a principal: its approval stops counting;
    # nor does that of a key whose role changed since to one the policy does not let approve.
    revoked = key_repository.revoked_among(session, [request.requested_by, *(v.approver_id for v in votes)])
    roles_now = key_repository.roles_of(session, [v.approver_id for v in votes])
    counted = [
        v
        for v in votes
        if v.approver_id not in revoked and roles_now.get(v.approver_id, v.approver_role) in rule.approver_roles
    ]
    append_audit(
        session,
        actor=actor.id,
        action="approval.approved",
        entity_type="approval_request",
        entity_id=request.id,
        data={
            "action": request.action,
            "subject_id": request.subject_id,
            "approvals": len(counted),
            "required_approvals": rule.approvals_required,
            "reference": body.reference,
            "note": body.note,
        },
        rule_ids=list(rule.rule_ids),
    )
    if approvals_complete(rule, len(counted)):
        request.status, request.decided_by, request.decided_at = "approved", actor.id, utc_now()
        _executor(request.action).on_approved(
            session, request, actor, replace(context, reference=body.reference, note=body.note)
        )
        # After the executor, whose own refusal says more about the change; either rolls it all back.
        _refuse_a_revoked_maker(request, revoked)
    return to_out(request, votes)


def _refuse_a_revoked_maker(request: ApprovalRequest, revoked: set[str]) -> None:
    """R40: a staff key revoked since it asked (say, leaked) is no longer a principal, so its request
    would be carried by the approvers alone. A customer's request is the customer's, not a staff
    principal's: rotating the customer's key leaves it to the operators to decide."""
    if request.requester_role != "customer" and request.requested_by in revoked:
        raise Conflict(
            f"approval request {request.id} was asked for with API key {request.requested_by}, revoked since; "
            f"without its maker it lacks a second principal (R40): reject it (POST /v1/approvals/{request.id}/reject) "
            "and ask again with a key in use"
        )


def reject(session: Session, *, actor: Principal, request_id: str, body: ApprovalRejectIn) -> ApprovalOut:
    """An allowed approver rejects; the requester may withdraw (status cancelled)."""
    request = _pending(session, request_id)
    withdrawing = actor.id == request.requested_by
    if not withdrawing and actor.role not in _rule_of(request).approver_roles:
        raise Forbidden(
            f"role {actor.role!r} cannot decide on {request.action}; it needs one of "
            f"{request.approver_roles.split(',')}",
            reason_code="approver_role_not_allowed",
        )
    request.status = "cancelled" if withdrawing else "rejected"
    request.decided_by, request.decided_at, request.decision_note = actor.id, utc_now(), body.note
    append_audit(
        session,
        actor=actor.id,
        action=f"approval.{request.status}",
        entity_type="approval_request",
        entity_id=request.id,
        data={"action": request.action, "subject_id": request.subject_id, "note": body.note},
        rule_ids=list(_rule_of(request).rule_ids),
    )
    hook = _executor(request.action).on_rejected
    if hook is not None:
        hook(session, request, actor)
    return to_out(request, repository.votes(session, request.id))


def cancel(session: Session, request: ApprovalRequest, *, actor: str, note: str) -> None:
    """The domain withdraws a pending request it no longer needs (e.g. a re-decided KYC). Locked and
    read again first, as approving locks it: a request approved meanwhile stays approved."""
    repository.get(session, request.id, lock=True)  # refreshes `request` as of the lock
    if request.status != "pending":
        return
    request.status, request.decided_by, request.decided_at, request.decision_note = (
        "cancelled",
        actor,
        utc_now(),
        note,
    )
    append_audit(
        session,
        actor=actor,
        action="approval.cancelled",
        entity_type="approval_request",
        entity_id=request.id,
        data={"action": request.action, "subject_id": request.subject_id, "note": note},
        rule_ids=["R40"],
    )


def pending_for(session: Session, *, action: str, subject_type: str, subject_id: str) -> ApprovalRequest | None:
    """The pending request of `action` about one subject, if any (a domain whose own endpoint
    approves, e.g. POST /v1/mints/{id}/approve, finds its request here). Not locked: `approve` and
    `reject` lock it, and that lock orders everyone deciding on the subject."""
    pending = repository.for_subject(session, subject_type, subject_id, action=action, statuses=("pending",))
    return pending[0] if pending else None


def _pending(session: Session, request_id: str) -> ApprovalRequest:
    request = repository.get(session, request_id, lock=True)
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    if request.status != "pending":
        raise Conflict(f"approval request {request_id} is {request.status}; only a pending request can be decided")
    return request


def _executor(action: str) -> Executor:
    executor = _EXECUTORS.get(action)
    if executor is None:  # pragma: no cover - every opened action registers its executor on import
        raise RuntimeError(f"no executor registered for approval action {action!r}")
    return executor


# ---------------------------------------------------------------- reads
def get_request(session: Session, request_id: str) -> ApprovalOut:
    request = repository.get(session, request_id)
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    return to_out(request, repository.votes(session, request.id))


def list_requests(
    session: Session, *, status: str | None, action: str | None, limit: int, cursor: str | None
) -> Page[ApprovalOut]:
    rows = repository.list_after(session, status=status, action=action, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda r: r.id)
    votes = repository.votes_for(session, [r.id for r in page])
    return Page[ApprovalOut](items=[to_out(r, votes[r.id]) for r in page], next_cursor=next_cursor)


def policy_out() -> PolicyOut:
    data = policy().as_data()
    actions: dict[str, Any] = data["actions"]  # type: ignore[assignment]
    return PolicyOut(version=policy().version, actions={name: PolicyRuleOut(**rule) for name, rule in actions.items()})


def to_out(request: ApprovalRequest, votes: list[ApprovalVote]) -> ApprovalOut:
    return ApprovalOut(
        id=request.id,
        action=request.action,
        subject_type=request.subject_type,
        subject_id=request.subject_id,
        summary=request.summary,
        payload=payload_of(request),
        status=request.status,  # type: ignore[arg-type]
        required_approvals=request.required_approvals,
        approver_roles=request.approver_roles.split(","),
        requested_by=request.requested_by,
        requester_role=request.requester_role,
        approvals=[
            ApprovalVoteOut(
                approver_id=v.approver_id,
                approver_role=v.approver_role,
                reference=v.reference,
                note=v.note,
                created_at=v.created_at,
            )
            for v in votes
        ],
        rule_ids=list(_rule_of(request).rule_ids),
        created_at=request.created_at,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        decision_note=request.decision_note,
    )
