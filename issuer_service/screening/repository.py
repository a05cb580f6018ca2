"""All SQL of screening lists and cases."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.screening.models import UNRESOLVED, ScreeningCase, ScreeningListVersion


def latest_list(session: Session) -> ScreeningListVersion | None:
    stmt = (
        select(ScreeningListVersion)
        .order_by(ScreeningListVersion.loaded_at.desc(), ScreeningListVersion.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def add(session: Session, row: ScreeningListVersion | ScreeningCase) -> None:
    session.add(row)
    session.flush()


def get_case(session: Session, case_id: str, *, lock: bool = False) -> ScreeningCase | None:
    stmt = select(ScreeningCase).where(ScreeningCase.id == case_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def cases_by_ids(session: Session, case_ids: Iterable[str]) -> list[ScreeningCase]:
    ids = list(case_ids)
    if not ids:
        return []
    return list(session.execute(select(ScreeningCase).where(ScreeningCase.id.in_(ids))).scalars())


def cases_for_subject(session: Session, subject_type: str, subject_id: str, entry_id: str) -> list[ScreeningCase]:
    stmt = select(ScreeningCase).where(
        ScreeningCase.subject_type == subject_type,
        ScreeningCase.subject_id == subject_id,
        ScreeningCase.entry_id == entry_id,
    )
    return list(session.execute(stmt).scalars())


def unresolved_for_customer(session: Session, customer_id: str) -> list[ScreeningCase]:
    """Open or confirmed cases on the customer or any of its wallets."""
    stmt = (
        select(ScreeningCase)
        .where(ScreeningCase.customer_id == customer_id, ScreeningCase.status.in_(UNRESOLVED))
        .order_by(ScreeningCase.id)
    )
    return list(session.execute(stmt).scalars())


def list_cases(
    session: Session, *, status: str | None, customer_id: str | None, after_id: str | None, limit: int
) -> list[ScreeningCase]:
    stmt = select(ScreeningCase).order_by(ScreeningCase.id).limit(limit)
    if status is not None:
        stmt = stmt.where(ScreeningCase.status == status)
    if customer_id is not None:
        stmt = stmt.where(ScreeningCase.customer_id == customer_id)
    if after_id is not None:
        stmt = stmt.where(ScreeningCase.id > after_id)
    return list(session.execute(stmt).scalars())


def counts_by_status(session: Session) -> dict[str, int]:
    stmt = select(ScreeningCase.status, func.count()).group_by(ScreeningCase.status)
    return {str(status): int(count) for status, count in session.execute(stmt).all()}


def blocked_by_screening(session: Session) -> list[str]:
    stmt = select(ScreeningCase.customer_id).where(or_(*(ScreeningCase.status == s for s in UNRESOLVED))).distinct()
    return [str(customer_id) for customer_id in session.execute(stmt).scalars()]
