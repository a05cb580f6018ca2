"""All SQL of customers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.customers.models import Customer, KycDecision
from issuer_service.db import lock_for_update


def add(session: Session, customer: Customer) -> Customer:
    session.add(customer)
    session.flush()
    return customer


def get(session: Session, customer_id: str) -> Customer | None:
    return session.get(Customer, customer_id)


def get_held(session: Session, customer_id: str) -> Customer | None:
    """The customer, share-locked to the end of the transaction: a KYC decision or a screening
    block (which update the row) cannot commit between this read and this commit (PostgreSQL)."""
    stmt = select(Customer).where(Customer.id == customer_id).with_for_update(read=True)
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def lock(session: Session, customer_id: str) -> Customer | None:
    return session.execute(lock_for_update(select(Customer).where(Customer.id == customer_id))).scalar_one_or_none()


def list_after(session: Session, *, after_id: str | None, limit: int) -> list[Customer]:
    stmt = select(Customer).order_by(Customer.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Customer.id > after_id)
    return list(session.execute(stmt).scalars())


def add_kyc_decision(session: Session, decision: KycDecision) -> KycDecision:
    session.add(decision)
    return decision


def kyc_decisions(session: Session, customer_id: str) -> list[KycDecision]:
    """Every KYC decision about the customer, newest first."""
    stmt = (
        select(KycDecision)
        .where(KycDecision.customer_id == customer_id)
        .order_by(KycDecision.decided_at.desc(), KycDecision.id.desc())
    )
    return list(session.execute(stmt).scalars())
