"""All SQL of the pause flag."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.admin.models import STATE_ID, SystemState
from issuer_service.db import lock_for_update


def read_state(session: Session, *, hold: bool = False) -> SystemState:
    """The flag; with `hold`, share-locked to the end of the transaction (PostgreSQL `FOR SHARE`):
    a pause, which locks the row to update it, cannot commit between this read and this commit.
    Readers holding it do not wait for one another."""
    stmt = select(SystemState).where(SystemState.id == STATE_ID)
    if hold:
        stmt = stmt.with_for_update(read=True).execution_options(populate_existing=True)
    return session.execute(stmt).scalar_one()


def lock_state(session: Session) -> SystemState:
    return session.execute(lock_for_update(select(SystemState).where(SystemState.id == STATE_ID))).scalar_one()
