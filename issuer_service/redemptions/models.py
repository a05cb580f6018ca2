"""Redemption requests: burn on chain first, then pay out fiat at par (R13, R16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

REDEMPTION_STATUSES = ("requested", "burn_submitted", "burned", "paid", "rejected", "failed")


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    wallet_address: Mapped[str] = mapped_column(String(42))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    payout_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    chain_request_id: Mapped[str] = mapped_column(String(66), unique=True)  # bytes32 in Redeemed
    permit_deadline: Mapped[int] = mapped_column(BigInteger)
    permit_v: Mapped[int] = mapped_column(Integer)
    permit_r: Mapped[str] = mapped_column(String(66))
    permit_s: Mapped[str] = mapped_column(String(66))
    permit_nonce: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(64))
    chain_tx_id: Mapped[str | None] = mapped_column(String(40))
    burn_tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    last_audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    payout_reference: Mapped[str | None] = mapped_column(String(64))
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)  # R13
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("fee_fen >= 0 AND payout_fen >= 0", name="fee_payout_not_negative"),
        Index("ix_redemptions_customer_created", "customer_id", "created_at"),
    )
