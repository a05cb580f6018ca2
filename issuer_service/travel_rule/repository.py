"""All SQL of travel-rule records, and the transfers between customer wallets they must cover."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from issuer_service.indexer.events import ZERO_ADDRESS
from issuer_service.indexer.models import ChainEvent
from issuer_service.indexer.repository import ExactUnits
from issuer_service.travel_rule.models import TravelRuleRecord
from issuer_service.wallets.models import Wallet


def add(session: Session, record: TravelRuleRecord, *, flush: bool = True) -> TravelRuleRecord:
    """`flush=False` leaves the INSERT to the transaction's next flush (a mint's or redemption's
    record goes in with the rows it belongs to)."""
    session.add(record)
    if flush:
        session.flush()
    return record


def list_after(
    session: Session, *, tx_hash: str | None, kind: str | None, after_id: str | None, limit: int
) -> list[TravelRuleRecord]:
    stmt = select(TravelRuleRecord).order_by(TravelRuleRecord.id).limit(limit)
    if tx_hash is not None:
        stmt = stmt.where(TravelRuleRecord.tx_hash == tx_hash.lower())
    if kind is not None:
        stmt = stmt.where(TravelRuleRecord.kind == kind)
    if after_id is not None:
        stmt = stmt.where(TravelRuleRecord.id > after_id)
    return list(session.execute(stmt).scalars())


def first_record_at(session: Session, tx_hashes: Iterable[str]) -> dict[str, datetime]:
    hashes = sorted({h.lower() for h in tx_hashes})
    found: dict[str, datetime] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        stmt = (
            select(TravelRuleRecord.tx_hash, func.min(TravelRuleRecord.created_at))
            .where(TravelRuleRecord.tx_hash.in_(chunk))
            .group_by(TravelRuleRecord.tx_hash)
        )
        for tx_hash, created_at in session.execute(stmt).all():
            found[str(tx_hash)] = created_at
    return found


def customer_transfers(session: Session, *, min_units: int) -> list[tuple[str, int, str, str, int, datetime]]:
    """Indexed Transfer events between two bound customer wallets of at least `min_units`:
    (tx_hash, block, from, to, units, observed_at), oldest first. Mints and burns are excluded
    (they have the zero address on one side); the service records those itself."""
    sender, receiver = Wallet.__table__.alias("sender"), Wallet.__table__.alias("receiver")
    units = type_coerce(ChainEvent.amount_units, ExactUnits())
    stmt = (
        select(
            ChainEvent.tx_hash,
            ChainEvent.block_number,
            ChainEvent.from_address,
            ChainEvent.to_address,
            units,
            ChainEvent.created_at,
        )
        .join(sender, sender.c.address == ChainEvent.from_address)
        .join(receiver, receiver.c.address == ChainEvent.to_address)
        .where(
            ChainEvent.event == "Transfer",
            ChainEvent.from_address != ZERO_ADDRESS,
            ChainEvent.to_address != ZERO_ADDRESS,
            units >= min_units,
        )
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    return [(str(h), int(b), str(f), str(t), int(u), at) for h, b, f, t, u, at in session.execute(stmt).all()]


def transfers_in(session: Session, tx_hash: str) -> list[tuple[str, str]]:
    """(from, to) of each indexed Transfer event of the transaction, as the indexer stored them."""
    stmt = select(ChainEvent.from_address, ChainEvent.to_address).where(
        ChainEvent.tx_hash == tx_hash.lower(), ChainEvent.event == "Transfer"
    )
    return [(str(f), str(t)) for f, t in session.execute(stmt).all()]


def transfer_record_of(session: Session, tx_hash: str) -> TravelRuleRecord | None:
    stmt = select(TravelRuleRecord).where(
        TravelRuleRecord.kind == "transfer", TravelRuleRecord.tx_hash == tx_hash.lower()
    )
    return session.execute(stmt.order_by(TravelRuleRecord.created_at).limit(1)).scalar_one_or_none()


def record_of(session: Session, kind: str, subject_id: str) -> TravelRuleRecord | None:
    """The record the service kept for its own mint, redemption or seizure `subject_id`."""
    stmt = select(TravelRuleRecord).where(TravelRuleRecord.kind == kind, TravelRuleRecord.subject_id == subject_id)
    return session.execute(stmt.order_by(TravelRuleRecord.created_at).limit(1)).scalar_one_or_none()
