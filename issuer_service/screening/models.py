"""Screening lists as loaded (each version kept, R51) and the cases a hit opens (R23)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

CASE_STATUSES = ("open", "cleared", "confirmed")
UNRESOLVED = ("open", "confirmed")  # both keep the customer blocked and the wallets frozen


class ScreeningListVersion(Base):
    """One loaded list. The newest row is the list in force; none means the shipped sandbox list."""

    __tablename__ = "screening_lists"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of the parsed list
    entry_count: Mapped[int] = mapped_column(Integer)
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScreeningCase(Base):
    """A hit on a customer's name or a wallet's address, for compliance to clear or confirm."""

    __tablename__ = "screening_cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # customer | wallet
    subject_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    list_version: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[str] = mapped_column(String(64))
    entry_name: Mapped[str] = mapped_column(String(200))
    match_kind: Mapped[str] = mapped_column(String(16))  # name | address
    matched_value: Mapped[str] = mapped_column(String(200))
    screened_value: Mapped[str] = mapped_column(String(200))  # the customer's name or the wallet address
    score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("subject_type IN ('customer', 'wallet')", name="subject_type"),
        CheckConstraint("match_kind IN ('name', 'address')", name="match_kind"),
        CheckConstraint("status IN ('open', 'cleared', 'confirmed')", name="status"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        Index("ix_screening_cases_customer_status", "customer_id", "status"),
        Index("ix_screening_cases_subject", "subject_type", "subject_id"),
    )
