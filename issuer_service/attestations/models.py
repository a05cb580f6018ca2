"""Attestation reports and the holder balances their proof-of-liabilities tree was built from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class Attestation(Base):
    """One report. `report_json` holds the canonical bytes (UTF-8) exactly as hashed into `sha256`;
    the other columns repeat a few of its facts for lists and look-ups."""

    __tablename__ = "attestations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of_block: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    result: Mapped[str] = mapped_column(String(8))  # pass | fail (R1 with the buffer)
    supply_units: Mapped[str] = mapped_column(String(80))  # exact decimal integer
    pol_root: Mapped[str] = mapped_column(String(64))
    holders: Mapped[int] = mapped_column(Integer)
    report_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_attestations_block", "as_of_block"),)


class AttestationLiability(Base):
    """One leaf of a report's Merkle sum tree (R54): kept so every proof matches the published
    root even if the indexer later rewinds after a reorg."""

    __tablename__ = "attestation_liabilities"

    attestation_id: Mapped[str] = mapped_column(ForeignKey("attestations.id"), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(String(42))
    balance_units: Mapped[str] = mapped_column(String(80))  # exact decimal integer

    __table_args__ = (UniqueConstraint("attestation_id", "address"),)
