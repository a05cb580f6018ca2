"""What the indexer has read from the chain: its cursor and every Transfer/Redeemed event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class IndexerCursor(Base):
    __tablename__ = "indexer_cursor"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger)
    last_block_hash: Mapped[str | None] = mapped_column(String(66))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChainEvent(Base):
    __tablename__ = "chain_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(24))
    from_address: Mapped[str | None] = mapped_column(String(42))
    to_address: Mapped[str | None] = mapped_column(String(42))
    amount_units: Mapped[int] = mapped_column(Numeric(78, 0))
    request_id: Mapped[str | None] = mapped_column(String(66))
    explained: Mapped[bool | None] = mapped_column()  # supply change matched to an outbox row
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("block_hash", "log_index"),
        Index("ix_chain_events_block", "block_number"),
    )
