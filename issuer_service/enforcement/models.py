"""Freeze holds and seizures (R23, R24)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

SEIZURE_STATUSES = (
    "pending_approval",
    "approved",
    "burn_submitted",
    "burned",
    "remint_submitted",
    "completed",
    "rejected",
    "failed",
    "remint_failed",
)


class WalletFreeze(Base):
    """A reason to keep a wallet frozen: a compliance officer's decision or a screening case.

    The wallet stays frozen on chain while any hold is unlifted; `Wallet.frozen` follows the chain
    (it changes only when a freeze/unfreeze transaction is confirmed).
    """

    __tablename__ = "wallet_freezes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    address: Mapped[str] = mapped_column(String(42))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(40))  # screening case, when screening froze it
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    freeze_chain_tx_id: Mapped[str | None] = mapped_column(String(40))
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
    unfreeze_chain_tx_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_wallet_freezes_wallet", "wallet_id"), Index("ix_wallet_freezes_case", "case_id"))


class Seizure(Base):
    """R24: burn a frozen balance (`burnFrozen`) and re-mint it to a recovery wallet."""

    __tablename__ = "seizures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    address: Mapped[str] = mapped_column(String(42))
    recovery_wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    recovery_address: Mapped[str] = mapped_column(String(42))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    legal_basis: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str] = mapped_column(String(200))
    chain_case_id: Mapped[str] = mapped_column(String(66))  # bytes32 caseId in FrozenBalanceBurned
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    approval_id: Mapped[str | None] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    burn_chain_tx_id: Mapped[str | None] = mapped_column(String(40))
    burn_tx_hash: Mapped[str | None] = mapped_column(String(66))
    remint_chain_tx_id: Mapped[str | None] = mapped_column(String(40))
    remint_tx_hash: Mapped[str | None] = mapped_column(String(66))
    last_audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("wallet_id <> recovery_wallet_id", name="recovery_elsewhere"),
        Index("ix_seizures_wallet", "wallet_id"),
    )
