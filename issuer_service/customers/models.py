"""Customers and every KYC decision taken on them (R20)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(2))
    kyc_status: Mapped[str] = mapped_column(String(16))
    risk: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'institution')", name="kind"),
        CheckConstraint("kyc_status IN ('pending', 'approved', 'rejected')", name="kyc_status"),
        CheckConstraint("risk IS NULL OR risk IN ('low', 'medium', 'high')", name="risk"),
        # blocked: reserved for a sanctions hit (R23), set by the screening that lands later.
        CheckConstraint("status IN ('active', 'blocked')", name="status"),
    )


class KycDecision(Base):
    """History: every decision is kept, the customer row holds the latest (R20, R51)."""

    __tablename__ = "kyc_decisions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    risk: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str] = mapped_column(String(200))
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("decision IN ('approved', 'rejected')", name="decision"),
        CheckConstraint("risk IN ('low', 'medium', 'high')", name="risk"),
    )
