"""The token's segregated reserve pool (R1, R3), the assets treasury records into it (R2) with
their custodian accounts and valuation history (R3, R5), and the daily reserve statements (R52)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
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


class ReserveAssetCustody(Base):
    """The custodian account an asset sits in (R3). `ReserveAsset.custodian` names the institution,
    which is what concentration is measured by (R6); this row names the account at it."""

    __tablename__ = "reserve_asset_custody"

    asset_id: Mapped[str] = mapped_column(ForeignKey("reserve_assets.id"), primary_key=True)
    account: Mapped[str] = mapped_column(String(200))


class ReserveAssetValuation(Base):
    """Every valuation of a reserve asset, kept for good (R5, R51). The first one is recorded with
    the asset; later ones are revaluations. Each counts only once a second principal approved it
    (R40), and only from `effective_block` on: the first block after the approval, so a report at
    an earlier block is not changed by it (R53 reproducibility)."""

    __tablename__ = "reserve_asset_valuations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("reserve_assets.id"))
    nominal_fen: Mapped[int] = mapped_column(BigInteger)
    market_value_fen: Mapped[int] = mapped_column(BigInteger)
    valued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending_approval | active | rejected
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    effective_block: Mapped[int | None] = mapped_column(BigInteger)
    decision_audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("nominal_fen >= 0 AND market_value_fen >= 0", name="not_negative"),
        CheckConstraint("status IN ('pending_approval', 'active', 'rejected')", name="status"),
        Index("ix_reserve_asset_valuations_asset", "asset_id", "status"),
        Index("ix_reserve_asset_valuations_effective", "status", "effective_block"),
    )


class ReserveStatement(Base):
    """The daily reserve statement (R5, R52): ledger supply against counted reserves, once per
    Hong Kong business date. A breach is recorded here, in the audit log and as an alert."""

    __tablename__ = "reserve_statements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, unique=True)
    supply_fen: Mapped[int] = mapped_column(BigInteger)  # outstanding + in-flight mints (R1)
    reserves_fen: Mapped[int] = mapped_column(BigInteger)  # counted toward backing (R2, R4)
    required_fen: Mapped[int] = mapped_column(BigInteger)
    surplus_fen: Mapped[int] = mapped_column(BigInteger)  # negative: the shortfall to cure
    fully_backed: Mapped[bool] = mapped_column(Boolean)
    stale_valuations: Mapped[int] = mapped_column(Integer)
    concentration_breaches: Mapped[int] = mapped_column(Integer)
    chain_supply_units: Mapped[str | None] = mapped_column(String(80))  # exact decimal integer
    chain_block: Mapped[int | None] = mapped_column(BigInteger)
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
