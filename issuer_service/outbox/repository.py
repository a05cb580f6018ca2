"""All SQL of the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from issuer_service.admin.models import STATE_ID, SystemState
from issuer_service.clock import utc_now
from issuer_service.db import lock_for_update
from issuer_service.ids import new_id
from issuer_service.outbox.models import ChainTx, SignerNonce
from issuer_service.request_context import current_request_id


def new_tx_id() -> str:
    return new_id("ctx")


def enqueue(
    session: Session,
    *,
    function: str,
    args: list[Any],
    entity_type: str,
    entity_id: str,
    row_id: str | None = None,
) -> ChainTx:
    """A pending transaction (`row_id`: its id chosen by the caller, e.g. to store it on the
    business row before either is written)."""
    now = utc_now()
    row = ChainTx(
        id=row_id or new_tx_id(),
        function=function,
        args_json=json.dumps(args),
        entity_type=entity_type,
        entity_id=entity_id,
        status="pending",
        attempts=0,
        not_before=now,
        request_id=current_request_id(),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def claim(session: Session, status: str, *, limit: int, now: datetime) -> Sequence[ChainTx]:
    """Rows in `status` that are due, locked; other workers skip them (SKIP LOCKED).

    Signed rows go in nonce order: a request that committed late was signed after later requests,
    so request order is not nonce order, and a batch cut by request order could send a signer's
    nonce n+1 while n waits for the next batch (the node queues n+1 behind the gap)."""
    in_order: tuple[Any, ...] = (ChainTx.created_at, ChainTx.id)
    if status == "signed":
        in_order = (ChainTx.nonce, *in_order)
    stmt = (
        select(ChainTx)
        .where(ChainTx.status == status, ChainTx.not_before <= now)
        # A pause jumps the queue (R41: immediate); everything else goes in order.
        .order_by(case((ChainTx.function == "pause", 0), else_=1), *in_order)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).all()


def has_due(session: Session, status: str, *, now: datetime) -> bool:
    """Is any row in `status` due? (A look before `claim`, which locks and loads them.)"""
    stmt = select(ChainTx.id).where(ChainTx.status == status, ChainTx.not_before <= now).limit(1)
    return session.execute(stmt).first() is not None


def lock_nonce(session: Session, address: str) -> SignerNonce | None:
    return session.scalars(lock_for_update(select(SignerNonce).where(SignerNonce.address == address))).first()


def create_nonce(session: Session, address: str, next_nonce: int) -> SignerNonce:
    row = SignerNonce(address=address, next_nonce=next_nonce, updated_at=utc_now())
    session.add(row)
    session.flush()
    return row


def open_of(session: Session, function: str) -> ChainTx | None:
    """An unfinished transaction calling `function`, if any."""
    stmt = select(ChainTx).where(ChainTx.function == function, ChainTx.status.in_(("pending", "signed", "sent")))
    return session.scalars(stmt.limit(1)).first()


def pause_in_force(session: Session) -> bool:
    """Is the service paused, or a pause or unpause not yet final on chain? (R41; one query)"""
    open_switch = (
        select(ChainTx.id)
        .where(ChainTx.function.in_(("pause", "unpause")), ChainTx.status.in_(("pending", "signed", "sent")))
        .exists()
    )
    stmt = select(or_(SystemState.paused, open_switch)).where(SystemState.id == STATE_ID)
    return bool(session.execute(stmt).scalar_one())


def in_flight_mint_units(session: Session) -> int:
    """Units of mints signed or sent but not yet final: the chain may execute them any moment."""
    rows = session.scalars(
        select(ChainTx.args_json).where(ChainTx.function == "mint", ChainTx.status.in_(("signed", "sent")))
    ).all()
    return sum(int(json.loads(args)[1]) for args in rows)


def depth(session: Session) -> dict[str, int]:
    rows = session.execute(select(ChainTx.status, func.count()).group_by(ChainTx.status)).all()
    return {status: int(count) for status, count in rows}


def for_entity(session: Session, entity_type: str, entity_id: str) -> Sequence[ChainTx]:
    stmt = select(ChainTx).where(ChainTx.entity_type == entity_type, ChainTx.entity_id == entity_id)
    return session.scalars(stmt.order_by(ChainTx.created_at)).all()


def lock_by_id(session: Session, ids: Sequence[str]) -> dict[str, ChainTx]:
    """The rows with these ids, locked and re-read: a step that read them, then talked to the node
    with no transaction open, applies what it learnt only to rows still as it left them."""
    if not ids:
        return {}
    stmt = lock_for_update(select(ChainTx).where(ChainTx.id.in_(ids)).order_by(ChainTx.id))
    return {row.id: row for row in session.scalars(stmt)}


def signing_marker(session: Session) -> tuple[tuple[str, int], ...]:
    """Every signer's next nonce: it moves whenever anything is signed."""
    rows = session.execute(select(SignerNonce.address, SignerNonce.next_nonce).order_by(SignerNonce.address)).all()
    return tuple((str(address), int(nonce)) for address, nonce in rows)


REFUSALS_REPORTED = 3  # a row the node refused this often in a row is named by the readiness check
UNMINED_REPORTED_AFTER = timedelta(minutes=5)  # a row sent this long ago and still unmined is named too


def unmined(session: Session, *, now: datetime) -> tuple[int, ChainTx | None]:
    """Rows the node took more than UNMINED_REPORTED_AFTER ago and still has not mined (it holds
    them in its pool: behind a nonce gap, or under its fee floor). How many, and the oldest."""
    where = (ChainTx.status == "sent", ChainTx.sent_at < now - UNMINED_REPORTED_AFTER)
    count = int(session.execute(select(func.count()).select_from(ChainTx).where(*where)).scalar_one())
    oldest = session.scalars(select(ChainTx).where(*where).order_by(ChainTx.sent_at).limit(1)).first()
    return count, oldest


def refused(session: Session) -> tuple[int, ChainTx | None]:
    """Rows whose signed bytes the node refused at least REFUSALS_REPORTED times since it last took
    them (`attempts`, reset when it does): waiting to be sent, or to be sent again after the node
    dropped them. How many, and the oldest."""
    where = (ChainTx.status.in_(("signed", "sent")), ChainTx.attempts >= REFUSALS_REPORTED)
    count = int(session.execute(select(func.count()).select_from(ChainTx).where(*where)).scalar_one())
    oldest = session.scalars(select(ChainTx).where(*where).order_by(ChainTx.created_at).limit(1)).first()
    return count, oldest
