"""All SQL of the reserve pool, reserve assets, their custody accounts and valuations, and the
daily statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.clock import utc_now
from issuer_service.db import lock_for_update, once_per_transaction
from issuer_service.reserves.models import (
    ReserveAsset,
    ReserveAssetCustody,
    ReserveAssetValuation,
    ReservePool,
    ReserveStatement,
)

POOL_ID = "tcnh"  # R3: one pool per token contract


def lock_pool(session: Session) -> ReservePool:
    """The pool row, locked until the transaction ends (locked once per transaction: the worker
    settles a batch of mints against it in one transaction)."""
    return once_per_transaction(session, ("reserve_pool", POOL_ID), lambda: _lock_pool(session))


def _lock_pool(session: Session) -> ReservePool:
    pool = session.execute(lock_for_update(select(ReservePool).where(ReservePool.id == POOL_ID))).scalar_one_or_none()
    if pool is None:  # the migration creates it; this covers a database restored without it
        pool = ReservePool(
            id=POOL_ID, cash_fen=0, outstanding_fen=0, in_flight_mint_fen=0, fees_fen=0, updated_at=utc_now()
        )
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


# ---------------------------------------------------------------- custody accounts (R3)
def add_custody(session: Session, asset_id: str, account: str) -> None:
    session.add(ReserveAssetCustody(asset_id=asset_id, account=account))


def accounts_by_asset(session: Session, asset_ids: Sequence[str]) -> dict[str, str]:
    if not asset_ids:
        return {}
    stmt = select(ReserveAssetCustody.asset_id, ReserveAssetCustody.account).where(
        ReserveAssetCustody.asset_id.in_(list(asset_ids))
    )
    return {str(asset_id): str(account) for asset_id, account in session.execute(stmt)}


def list_assets(session: Session, *, after_id: str | None, limit: int) -> list[ReserveAsset]:
    stmt = select(ReserveAsset).order_by(ReserveAsset.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(ReserveAsset.id > after_id)
    return list(session.execute(stmt).scalars())


# ---------------------------------------------------------------- valuations (R5)
def add_valuation(session: Session, valuation: ReserveAssetValuation) -> ReserveAssetValuation:
    session.add(valuation)
    session.flush()
    return valuation


def get_valuation(session: Session, valuation_id: str, *, lock: bool = False) -> ReserveAssetValuation | None:
    stmt = select(ReserveAssetValuation).where(ReserveAssetValuation.id == valuation_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def pending_valuations(session: Session, asset_id: str) -> list[ReserveAssetValuation]:
    stmt = select(ReserveAssetValuation).where(
        ReserveAssetValuation.asset_id == asset_id, ReserveAssetValuation.status == "pending_approval"
    )
    return list(session.execute(stmt).scalars())


def valuations_of(session: Session, asset_id: str) -> list[ReserveAssetValuation]:
    stmt = (
        select(ReserveAssetValuation)
        .where(ReserveAssetValuation.asset_id == asset_id)
        .order_by(ReserveAssetValuation.created_at, ReserveAssetValuation.id)
    )
    return list(session.execute(stmt).scalars())


def effective_valuations(session: Session, *, up_to_block: int) -> list[tuple[ReserveAssetValuation, ReserveAsset]]:
    """Every approved valuation counting at or before `up_to_block`, oldest first (by the block
    it counts from, then approval time): for each asset the last one is its value at that block."""
    stmt = (
        select(ReserveAssetValuation, ReserveAsset)
        .join(ReserveAsset, ReserveAsset.id == ReserveAssetValuation.asset_id)
        .where(ReserveAssetValuation.status == "active", ReserveAssetValuation.effective_block <= up_to_block)
        .order_by(ReserveAssetValuation.effective_block, ReserveAssetValuation.decided_at, ReserveAssetValuation.id)
    )
    return [(valuation, asset) for valuation, asset in session.execute(stmt)]


# ---------------------------------------------------------------- daily statements (R5, R52)
def statement_for(session: Session, business_date: date) -> ReserveStatement | None:
    stmt = select(ReserveStatement).where(ReserveStatement.business_date == business_date)
    return session.execute(stmt).scalar_one_or_none()


def add_statement(session: Session, statement: ReserveStatement) -> ReserveStatement:
    session.add(statement)
    session.flush()
    return statement


def list_statements(session: Session, *, after_id: str | None, limit: int) -> list[ReserveStatement]:
    stmt = select(ReserveStatement).order_by(ReserveStatement.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(ReserveStatement.id > after_id)
    return list(session.execute(stmt).scalars())
