"""All SQL of fiat accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.fiat_accounts.models import FiatAccount


def add(session: Session, account: FiatAccount) -> FiatAccount:
    session.add(account)
    return account


def get(session: Session, customer_id: str) -> FiatAccount | None:
    return session.get(FiatAccount, customer_id)


def lock(session: Session, customer_id: str) -> FiatAccount | None:
    stmt = select(FiatAccount).where(FiatAccount.customer_id == customer_id)
    return session.execute(lock_for_update(stmt)).scalar_one_or_none()
