"""All SQL of the pause flag."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.admin.models import STATE_ID, SystemState
from issuer_service.db import lock_for_update


def read_state(session: Session) -> SystemState:
    return session.execute(select(SystemState).where(SystemState.id == STATE_ID)).scalar_one()


def lock_state(session: Session) -> SystemState:
    return session.execute(lock_for_update(select(SystemState).where(SystemState.id == STATE_ID))).scalar_one()
