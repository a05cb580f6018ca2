"""Per-customer daily limits that replace the profile's limit for the customer's risk (R12)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class CustomerLimitOverride(Base):
    """The limits in force for one customer; written only by an approved limit change (R40).
    Every change is in the audit log with its approval (R50)."""

    __tablename__ = "customer_limit_overrides"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    daily_mint_limit_fen: Mapped[int | None] = mapped_column(BigInteger)
    daily_redeem_limit_fen: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    approval_id: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("daily_mint_limit_fen IS NULL OR daily_mint_limit_fen >= 0", name="mint_not_negative"),
        CheckConstraint("daily_redeem_limit_fen IS NULL OR daily_redeem_limit_fen >= 0", name="redeem_not_negative"),
    )
