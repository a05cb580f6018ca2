"""All SQL of the reserve pool and reserve assets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.clock import utc_now
from issuer_service.db import lock_for_update
from issuer_service.reserves.models import ReserveAsset, ReservePool

POOL_ID = "tcnh"  # R3: one pool per token contract


def lock_pool(session: Session) -> ReservePool:
    pool = session.execute(lock_for_update(select(ReservePool).where(ReservePool.id == POOL_ID))).scalar_one_or_none()
    if pool is None:  # the migration creates it; this covers a database restored without it
        pool = ReservePool(id=POOL_ID, cash_fen=0, outstanding_fen=0, in_flight_mint_fen=0, fees_fen=0,
                           updated_at=utc_now())
        session.add(pool)
        session.flush()
    return pool


def get_pool(session: Session) -> ReservePool | None:
    return session.get(ReservePool, POOL_ID)


def active_assets(session: Session) -> list[ReserveAsset]:
    stmt = select(ReserveAsset).where(ReserveAsset.status == "active").order_by(ReserveAsset.created_at)
    return list(session.execute(stmt).scalars())


def get_asset(session: Session, asset_id: str, *, lock: bool = False) -> ReserveAsset | None:
    stmt = select(ReserveAsset).where(ReserveAsset.id == asset_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def add_asset(session: Session, asset: ReserveAsset) -> ReserveAsset:
    session.add(asset)
    session.flush()
    return asset
