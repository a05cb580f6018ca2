"""Approval requests and the votes on them (R40). A vote row per principal: the unique constraint
makes "the same principal can never approve twice" a fact of the database, not only of the code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

APPROVAL_STATUSES = ("pending", "approved", "rejected", "cancelled")


class ApprovalRequest(Base):
    __tablename__ = "approval_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(300))
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    # The policy in force when the request was made; a later policy change does not move the goalposts.
    required_approvals: Mapped[int] = mapped_column(Integer)
    approver_roles: Mapped[str] = mapped_column(String(100))  # comma-separated, sorted
    requested_by: Mapped[str] = mapped_column(String(64))
    requester_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status"),
        CheckConstraint("required_approvals >= 1", name="at_least_one_approver"),
        Index("ix_approval_requests_action_status", "action", "status"),
        Index("ix_approval_requests_subject", "subject_type", "subject_id"),
    )


class ApprovalVote(Base):
    __tablename__ = "approval_votes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id"))
    approver_id: Mapped[str] = mapped_column(String(64))
    approver_role: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)
