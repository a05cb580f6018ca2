"""All SQL of mints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.mints.models import Mint

COUNTED = ("requested", "pending_approval", "approved", "submitted", "confirmed")


def get(session: Session, mint_id: str, *, lock: bool = False) -> Mint | None:
    stmt = select(Mint).where(Mint.id == mint_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def lock_many(session: Session, mint_ids: Sequence[str]) -> list[Mint]:
    """The mints, locked in id order (one query for a batch, deadlock-free against other batches)."""
    if not mint_ids:
        return []
    stmt = select(Mint).where(Mint.id.in_(sorted(set(mint_ids)))).order_by(Mint.id)
    return list(session.execute(lock_for_update(stmt)).scalars())


def minted_since(
    session: Session,
    customer_id: str,
    since: datetime,
    *,
    excluding: str | None = None,
    until: datetime | None = None,
) -> int:
    """Fen this customer minted or has in flight since `since` (R12 daily limit), leaving out the
    mint `excluding` (the one being decided, already written) and, given `until`, mints asked later."""
    stmt = select(func.coalesce(func.sum(Mint.amount_fen), 0)).where(
        Mint.customer_id == customer_id, Mint.created_at >= since, Mint.status.in_(COUNTED)
    )
    if excluding is not None:
        stmt = stmt.where(Mint.id != excluding)
    if until is not None:
        stmt = stmt.where(Mint.created_at <= until)
    return int(session.execute(stmt).scalar_one())


def list_for(session: Session, *, customer_id: str | None, after_id: str | None, limit: int) -> list[Mint]:
    stmt = select(Mint).order_by(Mint.id).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(Mint.customer_id == customer_id)
    if after_id is not None:
        stmt = stmt.where(Mint.id > after_id)
    return list(session.execute(stmt).scalars())
