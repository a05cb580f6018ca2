"""The token's segregated reserve pool (R1, R3) and the assets treasury records into it (R2)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class ReservePool(Base):
    """One row per token (R3). Amounts in fen.

    - cash_fen: customer fiat moved into the reserve account when their mint was accepted, less
      redemption payouts. In-flight mints' fiat is already here.
    - outstanding_fen: the ledger's token supply (confirmed mints less confirmed burns).
    - in_flight_mint_fen: accepted mints not yet confirmed; counted as supply for R1.
    - fees_fen: redemption fees, kept out of the pool (R3: never mixed with issuer funds).
    """

    __tablename__ = "reserve_pool"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    cash_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    outstanding_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    in_flight_mint_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint(
            "cash_fen >= 0 AND outstanding_fen >= 0 AND in_flight_mint_fen >= 0 AND fees_fen >= 0",
            name="not_negative",
        ),
    )


class ReserveAsset(Base):
    """An asset treasury holds for the pool, e.g. the issuer's buffer capital (R1, R2)."""

    __tablename__ = "reserve_assets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    custodian: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    nominal_fen: Mapped[int] = mapped_column(BigInteger)
    market_value_fen: Mapped[int] = mapped_column(BigInteger)
    maturity: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending_approval | active | rejected
    requested_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    valued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("nominal_fen >= 0 AND market_value_fen >= 0", name="not_negative"),
        CheckConstraint("status IN ('pending_approval', 'active', 'rejected')", name="status"),
    )
