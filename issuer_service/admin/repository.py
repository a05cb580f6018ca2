"""All SQL of the pause flag and approvals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.admin.models import STATE_ID, Approval, SystemState
from issuer_service.db import lock_for_update


def read_state(session: Session) -> SystemState:
    return session.execute(select(SystemState).where(SystemState.id == STATE_ID)).scalar_one()


def lock_state(session: Session) -> SystemState:
    return session.execute(lock_for_update(select(SystemState).where(SystemState.id == STATE_ID))).scalar_one()


def pending_approval(session: Session, action: str) -> Approval | None:
    stmt = select(Approval).where(Approval.action == action, Approval.status == "pending").order_by(Approval.id)
    return session.execute(stmt).scalars().first()


def add_approval(session: Session, approval: Approval) -> Approval:
    session.add(approval)
    return approval
