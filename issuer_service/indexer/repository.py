"""All SQL of the indexer: its cursor, the stored chain events, and the sums reconciliation reads.

Amounts: `chain_events.amount_units` is NUMERIC(78, 0), but SQLAlchemy's Numeric goes through a
float on SQLite (exact only below 2**53 units). Every read and write of it here uses `ExactUnits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    TypeDecorator,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from issuer_service.clock import utc_now
from issuer_service.db import lock_for_update
from issuer_service.indexer.events import SUPPLY_DIRECTION, ZERO_ADDRESS
from issuer_service.indexer.models import ChainEvent, IndexerCursor
from issuer_service.outbox.models import ChainTx

CURSOR_ID = "tcnh"  # one cursor per token contract, like the reserve pool (R3)
_IN_CHUNK = 500  # tx hashes per IN (...) list: well under SQLite's bound-parameter limit
_SUPPLY_FUNCTIONS = tuple(SUPPLY_DIRECTION)
_IN_FLIGHT = ("signed", "sent")


class ExactUnits(TypeDecorator[int]):
    """Token units as an exact int on both databases: NUMERIC(78, 0) on PostgreSQL; on SQLite a
    64-bit INTEGER, which fails loudly above 2**63 instead of silently rounding like a float."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(BigInteger() if dialect.name == "sqlite" else Numeric(78, 0))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def _units(column: Any) -> ColumnElement[int]:
    return type_coerce(column, ExactUnits())


# ---------------------------------------------------------------- cursor
def read_cursor(session: Session) -> IndexerCursor | None:
    return session.get(IndexerCursor, CURSOR_ID)


def lock_cursor(session: Session) -> IndexerCursor | None:
    return session.scalars(lock_for_update(select(IndexerCursor).where(IndexerCursor.id == CURSOR_ID))).first()


def lock_or_create_cursor(session: Session, *, last_block: int) -> IndexerCursor:
    """The cursor, locked until the transaction ends. Created at `last_block` on first use; if two
    processes create it at once, the loser's insert fails inside a savepoint and it locks the
    winner's row instead (PostgreSQL makes it wait for the winner's commit first)."""
    cursor = lock_cursor(session)
    if cursor is not None:
        return cursor
    try:
        with session.begin_nested():
            session.add(IndexerCursor(id=CURSOR_ID, last_block=last_block, last_block_hash=None,
                                      updated_at=utc_now()))
    except IntegrityError:
        pass
    cursor = lock_cursor(session)
    assert cursor is not None  # created above, by us or by the process that won the race
    return cursor


# ---------------------------------------------------------------- events
def stored_event_keys(session: Session, *, from_block: int, to_block: int) -> set[tuple[str, int]]:
    stmt = select(ChainEvent.block_hash, ChainEvent.log_index).where(
        ChainEvent.block_number.between(from_block, to_block))
    return {(block_hash, log_index) for block_hash, log_index in session.execute(stmt)}


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(ChainEvent).values({
        name: bindparam(name, type_=ExactUnits()) if name == "amount_units" else bindparam(name)
        for name in rows[0]
    })
    session.execute(stmt, list(rows))


def event_blocks_desc(session: Session, *, up_to_block: int, limit: int) -> list[tuple[int, str]]:
    """(block number, block hash) of blocks holding stored events, newest first."""
    stmt = (
        select(ChainEvent.block_number, ChainEvent.block_hash)
        .distinct()
        .where(ChainEvent.block_number <= up_to_block)
        .order_by(ChainEvent.block_number.desc())
        .limit(limit)
    )
    return [(int(number), str(block_hash)) for number, block_hash in session.execute(stmt)]


def delete_events_after(session: Session, block_number: int) -> tuple[int, list[str]]:
    """Remove events above `block_number`; returns how many, and their transaction hashes."""
    above = ChainEvent.block_number > block_number
    tx_hashes = session.scalars(select(ChainEvent.tx_hash).where(above).distinct()).all()
    count = int(session.scalar(select(func.count()).where(above)) or 0)
    session.execute(delete(ChainEvent).where(above))
    return count, sorted(tx_hashes)


# ---------------------------------------------------------------- outbox look-ups
def supply_functions_by_tx(session: Session, tx_hashes: Iterable[str]) -> dict[str, str]:
    """tx hash → outbox function, for the outbox rows that change supply and have one of these hashes."""
    wanted = sorted(set(tx_hashes))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        stmt = select(ChainTx.tx_hash, ChainTx.function).where(
            ChainTx.tx_hash.in_(wanted[start:start + _IN_CHUNK]), ChainTx.function.in_(_SUPPLY_FUNCTIONS))
        for tx_hash, function in session.execute(stmt):
            found[str(tx_hash)] = str(function)
    return found


def confirmed_supply_calls_after(session: Session, block_number: int) -> list[tuple[str, str]]:
    """(function, args_json) of confirmed supply-changing outbox rows mined above `block_number`."""
    stmt = select(ChainTx.function, ChainTx.args_json).where(
        ChainTx.status == "confirmed", ChainTx.function.in_(_SUPPLY_FUNCTIONS),
        ChainTx.block_number > block_number)
    return [(str(f), str(a)) for f, a in session.execute(stmt)]


def in_flight_supply_calls_already_indexed(session: Session) -> list[tuple[str, str]]:
    """(function, args_json) of supply-changing outbox rows the worker has not confirmed yet but
    whose transaction the indexer has already stored an event of."""
    indexed = exists().where(ChainEvent.tx_hash == ChainTx.tx_hash)
    stmt = select(ChainTx.function, ChainTx.args_json).where(
        ChainTx.status.in_(_IN_FLIGHT), ChainTx.function.in_(_SUPPLY_FUNCTIONS), indexed)
    return [(str(f), str(a)) for f, a in session.execute(stmt)]


# ---------------------------------------------------------------- sums
def minted_minus_burned_units(session: Session) -> int:
    """Σ Transfers from 0x0 − Σ Transfers to 0x0 over every stored event."""
    amount = _units(ChainEvent.amount_units)
    transfers = ChainEvent.event == "Transfer"
    minted = session.scalar(select(func.coalesce(func.sum(amount), 0)).where(
        transfers, ChainEvent.from_address == ZERO_ADDRESS))
    burned = session.scalar(select(func.coalesce(func.sum(amount), 0)).where(
        transfers, ChainEvent.to_address == ZERO_ADDRESS))
    return int(minted or 0) - int(burned or 0)


def unexplained_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(ChainEvent.explained.is_(False))) or 0)


def balances_at(session: Session, *, at_block: int) -> dict[str, int]:
    """address → Σ received − Σ sent over Transfers up to `at_block`; 0x0 (mint/burn) left out."""
    amount = _units(ChainEvent.amount_units)
    up_to = (ChainEvent.event == "Transfer", ChainEvent.block_number <= at_block)
    balances: dict[str, int] = {}
    received = select(ChainEvent.to_address, func.sum(amount)).where(*up_to).group_by(ChainEvent.to_address)
    sent = select(ChainEvent.from_address, func.sum(amount)).where(*up_to).group_by(ChainEvent.from_address)
    for sign, stmt in ((1, received), (-1, sent)):
        for address, total in session.execute(stmt):
            if address is not None and address != ZERO_ADDRESS:
                balances[str(address)] = balances.get(str(address), 0) + sign * int(total)
    return balances
