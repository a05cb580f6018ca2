"""All SQL of webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from issuer_service.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def get_subscription(session: Session, subscription_id: str) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, subscription_id)


def active_subscriptions(session: Session, customer_id: str) -> list[tuple[str, list[str] | None]]:
    """(id, event types or None for all) of the customer's active subscriptions: plain rows, not
    entities, because every mint and redemption status change asks."""
    return active_subscriptions_of(session, [customer_id]).get(customer_id, [])


def active_subscriptions_of(
    session: Session, customer_ids: Sequence[str]
) -> dict[str, list[tuple[str, list[str] | None]]]:
    """`active_subscriptions` for several customers in one query."""
    stmt = (
        select(WebhookSubscription.customer_id, WebhookSubscription.id, WebhookSubscription.event_types)
        .where(WebhookSubscription.customer_id.in_(sorted(set(customer_ids))), WebhookSubscription.status == "active")
        .order_by(WebhookSubscription.id)
    )
    found: dict[str, list[tuple[str, list[str] | None]]] = {}
    for row in session.execute(stmt):
        found.setdefault(row.customer_id, []).append((row.id, row.event_types))
    return found


def count_active(session: Session, customer_id: str) -> int:
    stmt = select(func.count()).where(
        WebhookSubscription.customer_id == customer_id, WebhookSubscription.status == "active"
    )
    return int(session.execute(stmt).scalar_one())


def list_subscriptions(
    session: Session, *, customer_id: str, after_id: str | None, limit: int
) -> Sequence[WebhookSubscription]:
    stmt = (
        select(WebhookSubscription)
        .where(WebhookSubscription.customer_id == customer_id, WebhookSubscription.status == "active")
        .order_by(WebhookSubscription.id)
        .limit(limit)
    )
    if after_id is not None:
        stmt = stmt.where(WebhookSubscription.id > after_id)
    return session.scalars(stmt).all()


def cancel_pending(session: Session, subscription_id: str, *, reason: str) -> int:
    stmt = (
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.status == "pending")
        .values(status="cancelled", last_error=reason)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def list_deliveries(
    session: Session, *, subscription_id: str, after_id: str | None, limit: int
) -> Sequence[tuple[WebhookDelivery, WebhookEvent]]:
    stmt = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    if after_id is not None:
        stmt = stmt.where(WebhookDelivery.id > after_id)
    return [(delivery, event) for delivery, event in session.execute(stmt).all()]


def attempts_of(session: Session, delivery_ids: Sequence[str]) -> Sequence[WebhookAttempt]:
    if not delivery_ids:
        return []
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt, WebhookAttempt.at)
    )
    return session.scalars(stmt).all()


def claim_due(session: Session, *, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
    """Due pending deliveries, locked; other dispatchers skip them (SKIP LOCKED on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already serialises writers)."""
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).all()


def get_delivery_locked(session: Session, delivery_id: str) -> WebhookDelivery | None:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).first()


def get_event(session: Session, event_id: str) -> WebhookEvent | None:
    return session.get(WebhookEvent, event_id)


def counts_by_status(session: Session) -> dict[str, int]:
    stmt = select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    return {status: int(count) for status, count in session.execute(stmt).all()}
