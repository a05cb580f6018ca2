"""All SQL of approval requests and votes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer_service.approvals.models import ApprovalRequest, ApprovalVote
from issuer_service.db import lock_for_update


def add(session: Session, request: ApprovalRequest) -> ApprovalRequest:
    session.add(request)
    session.flush()
    return request


def get(session: Session, request_id: str, *, lock: bool = False) -> ApprovalRequest | None:
    stmt = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def add_vote(session: Session, vote: ApprovalVote) -> ApprovalVote:
    session.add(vote)
    session.flush()  # the unique (request, approver) constraint fires here, inside the request
    return vote


def votes(session: Session, request_id: str) -> list[ApprovalVote]:
    stmt = (
        select(ApprovalVote)
        .where(ApprovalVote.request_id == request_id)
        .order_by(ApprovalVote.created_at, ApprovalVote.id)
    )
    return list(session.execute(stmt).scalars())


def votes_for(session: Session, request_ids: list[str]) -> dict[str, list[ApprovalVote]]:
    found: dict[str, list[ApprovalVote]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return found
    stmt = (
        select(ApprovalVote)
        .where(ApprovalVote.request_id.in_(request_ids))
        .order_by(ApprovalVote.created_at, ApprovalVote.id)
    )
    for vote in session.execute(stmt).scalars():
        found[vote.request_id].append(vote)
    return found


def for_subject(
    session: Session,
    subject_type: str,
    subject_id: str,
    *,
    action: str | None = None,
    statuses: tuple[str, ...] | None = None,
) -> list[ApprovalRequest]:
    """Requests about one subject, newest first."""
    stmt = select(ApprovalRequest).where(
        ApprovalRequest.subject_type == subject_type, ApprovalRequest.subject_id == subject_id
    )
    if action is not None:
        stmt = stmt.where(ApprovalRequest.action == action)
    if statuses is not None:
        stmt = stmt.where(ApprovalRequest.status.in_(statuses))
    return list(session.execute(stmt.order_by(ApprovalRequest.id.desc())).scalars())


def of_action(session: Session, action: str, *, statuses: tuple[str, ...]) -> list[ApprovalRequest]:
    stmt = select(ApprovalRequest).where(ApprovalRequest.action == action, ApprovalRequest.status.in_(statuses))
    return list(session.execute(stmt.order_by(ApprovalRequest.id)).scalars())


def list_after(
    session: Session, *, status: str | None, action: str | None, after_id: str | None, limit: int
) -> list[ApprovalRequest]:
    stmt = select(ApprovalRequest).order_by(ApprovalRequest.id).limit(limit)
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    if action is not None:
        stmt = stmt.where(ApprovalRequest.action == action)
    if after_id is not None:
        stmt = stmt.where(ApprovalRequest.id > after_id)
    return list(session.execute(stmt).scalars())


def pending_counts(session: Session) -> dict[str, int]:
    stmt = (
        select(ApprovalRequest.action, func.count())
        .where(ApprovalRequest.status == "pending")
        .group_by(ApprovalRequest.action)
    )
    return {str(action): int(count) for action, count in session.execute(stmt).all()}
