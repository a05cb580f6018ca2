"""Outbox rows and the per-key nonce counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

# pending → signed → sent → confirmed | failed
OUTBOX_STATUSES = ("pending", "signed", "sent", "confirmed", "failed")


class ChainTx(Base):
    __tablename__ = "chain_txs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    function: Mapped[str] = mapped_column(String(40))
    args_json: Mapped[str] = mapped_column(Text)  # JSON list; Python json keeps big ints exact
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    signer: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66), index=True)
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The API request that queued it: the worker's audit records and logs for it carry this id.
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_chain_txs_status_created", "status", "created_at"),
        Index("ix_chain_txs_entity", "entity_type", "entity_id"),
    )


class SignerNonce(Base):
    """The next nonce of one signing key, allocated under a row lock so several service processes
    can share a key without collisions (toolchain.md: reading the pending count collides)."""

    __tablename__ = "signer_nonces"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
