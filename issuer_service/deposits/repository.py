"""All SQL of deposits."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from issuer_service.deposits.models import Deposit


def add(session: Session, deposit: Deposit) -> Deposit:
    session.add(deposit)
    session.flush()
    return deposit


def get(session: Session, deposit_id: str) -> Deposit | None:
    return session.get(Deposit, deposit_id)


def credited_with_reference(session: Session, bank_reference: str) -> Deposit | None:
    """A deposit of any customer carrying this bank reference, compared without case (R10: one
    bank transfer is credited once). Concurrent deposits with the same reference are serialised
    first (`lock_reference`)."""
    stmt = select(Deposit).where(func.lower(Deposit.bank_reference) == bank_reference.lower())
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def lock_reference(session: Session, bank_reference: str) -> None:
    """Serialise deposits carrying the same bank reference until the transaction ends (PostgreSQL:
    a transaction-level advisory lock on its hash; SQLite runs one writer at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"deposit:{bank_reference.lower()}"
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
