"""One fiat account per customer, in fen. `available_fen` is confirmed and unallocated;
`reserved_fen` is allocated to mints in flight (R10: no fiat, no token)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class FiatAccount(Base):
    __tablename__ = "fiat_accounts"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    available_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("available_fen >= 0", name="available_not_negative"),
        CheckConstraint("reserved_fen >= 0", name="reserved_not_negative"),
    )
