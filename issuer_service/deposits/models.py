"""Deposits received at the sandbox bank."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class Deposit(Base):
    __tablename__ = "deposits"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    bank_reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # The same bank transfer must never be credited twice.
        UniqueConstraint("customer_id", "bank_reference"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("currency = 'CNH'", name="currency_cnh"),
        CheckConstraint("status IN ('confirmed')", name="status"),
    )
