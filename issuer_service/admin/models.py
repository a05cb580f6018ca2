"""The service-wide pause flag (R41); resuming is an approval request of `issuer_service/approvals`."""

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
