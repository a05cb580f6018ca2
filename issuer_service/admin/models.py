"""The service-wide pause flag and maker-checker approvals (R40, R41)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

STATE_ID = 1


class SystemState(Base):
    """One row. The chain worker mirrors `paused` onto the token contract (R41)."""

    __tablename__ = "system_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paused: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    changed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class Approval(Base):
    """A high-risk action waiting for a second, different principal (R40)."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (CheckConstraint("status IN ('pending', 'approved', 'cancelled')", name="status"),)
