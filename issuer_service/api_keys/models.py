"""API keys are stored only as an HMAC of the key; the key itself is shown once and never kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime
from issuer_service.roles import ROLES


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    # The `api_key.issue` approval a second admin must give before the key works (R40); None once
    # it has, and for keys issued without one (auditor keys, or while there is only one admin).
    pending_approval_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(role) for role in ROLES)})", name="role"),
        # A customer key is bound to exactly one customer; a staff key to none (R42).
        CheckConstraint("(role = 'customer') = (customer_id IS NOT NULL)", name="customer_binding"),
    )


class AuthFailure(Base):
    """Failed authentications from one client address in the current window (`auth.AuthFailureLimiter`).

    In the database rather than in a process's memory so that every process of the service counts
    the same failures: N processes behind a load balancer still allow `limit` tries per window."""

    __tablename__ = "auth_failures"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    failures: Mapped[int] = mapped_column(Integer)
