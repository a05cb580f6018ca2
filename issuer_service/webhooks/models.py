"""Webhook subscriptions, the events they receive, one delivery per (event, subscription) and the
log of every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime

SUBSCRIPTION_STATUSES = ("active", "deleted")
# pending → succeeded | failed (gave up after the last retry) | cancelled (subscription deleted)
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled")


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Needed in clear to sign every message (HMAC); shown to the customer once, never logged.
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[str] | None] = mapped_column(JSON)  # None: every event type
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (CheckConstraint("status IN ('active', 'deleted')", name="status"),)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    # The exact bytes signed and sent: every retry sends the same body.
    body: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))  # the request that caused it, if any
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_webhook_events_customer_created", "customer_id", "created_at"),)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    # When the next attempt is due; while an attempt is in flight, when its lease runs out.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')", name="status"),
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),  # the delivery log, paged
    )


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no HTTP response (timeout, refused)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
