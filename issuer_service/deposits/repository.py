"""All SQL of deposits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.deposits.models import Deposit


def add(session: Session, deposit: Deposit) -> Deposit:
    session.add(deposit)
    session.flush()
    return deposit


def get(session: Session, deposit_id: str) -> Deposit | None:
    return session.get(Deposit, deposit_id)


def get_by_reference(session: Session, customer_id: str, bank_reference: str) -> Deposit | None:
    stmt = select(Deposit).where(Deposit.customer_id == customer_id, Deposit.bank_reference == bank_reference)
    return session.execute(stmt).scalar_one_or_none()
