"""All SQL of redemptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.redemptions.models import Redemption

IN_FLIGHT = ("requested", "burn_submitted", "burned")
COUNTED = ("requested", "burn_submitted", "burned", "paid")


def add(session: Session, redemption: Redemption) -> Redemption:
    session.add(redemption)
    session.flush()
    return redemption


def get(session: Session, redemption_id: str, *, lock: bool = False) -> Redemption | None:
    stmt = select(Redemption).where(Redemption.id == redemption_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def in_flight_for_wallet(session: Session, wallet_id: str) -> Redemption | None:
    stmt = select(Redemption).where(Redemption.wallet_id == wallet_id, Redemption.status.in_(IN_FLIGHT)).limit(1)
    return session.execute(stmt).scalar_one_or_none()


def redeemed_since(session: Session, customer_id: str, since: datetime) -> int:
    stmt = select(func.coalesce(func.sum(Redemption.amount_fen), 0)).where(
        Redemption.customer_id == customer_id, Redemption.created_at >= since, Redemption.status.in_(COUNTED))
    return int(session.execute(stmt).scalar_one())


def list_for(session: Session, *, customer_id: str | None, after_id: str | None, limit: int) -> list[Redemption]:
    stmt = select(Redemption).order_by(Redemption.id).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(Redemption.customer_id == customer_id)
    if after_id is not None:
        stmt = stmt.where(Redemption.id > after_id)
    return list(session.execute(stmt).scalars())
