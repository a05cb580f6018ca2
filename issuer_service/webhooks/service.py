"""Webhook use cases: subscriptions, the delivery log, and `emit`, which queues an event in the
caller's transaction so it commits (or rolls back) with the status change it reports.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import iso_utc, utc_now
from issuer_service.db import once_per_transaction, remember_for_transaction
from issuer_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.request_context import current_request_id
from issuer_service.webhooks import repository, signing
from issuer_service.webhooks.destinations import Destinations
from issuer_service.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from issuer_service.webhooks.schemas import (
    AttemptOut,
    CreatedWebhook,
    DeliveryOut,
    WebhookCreate,
    WebhookOut,
    event_body,
)

MAX_ACTIVE_SUBSCRIPTIONS = 10


_SUBSCRIPTIONS = "webhook_subscriptions"


def read_subscriptions_for(session: Session, customer_ids: Sequence[str]) -> None:
    """Read the active subscriptions of several customers in one query, for `emit` to use for the
    rest of this transaction (the worker's batches). A subscription deleted meanwhile gets no
    message: the dispatcher cancels deliveries to deleted subscriptions."""
    found = repository.active_subscriptions_of(session, customer_ids)
    for customer_id in set(customer_ids):
        remember_for_transaction(session, (_SUBSCRIPTIONS, customer_id), found.get(customer_id, []))


def emit(
    session: Session, customer_id: str, event_type: str, data: Mapping[str, Any] | Callable[[], Mapping[str, Any]]
) -> WebhookEvent | None:
    """Queue `event_type` for the customer's active subscriptions, in the caller's transaction.

    Never commits and never does I/O: the dispatcher delivers after the commit, so a rolled-back
    status change is never announced and a committed one is never lost. With no subscription
    interested, nothing is written, and `data` given as a callable is not even built.
    """
    subscriptions = once_per_transaction(
        session, (_SUBSCRIPTIONS, customer_id), lambda: repository.active_subscriptions(session, customer_id)
    )
    subscription_ids = [
        subscription_id
        for subscription_id, event_types in subscriptions
        if event_types is None or event_type in event_types
    ]
    if not subscription_ids:
        return None
    if callable(data):
        data = data()
    now = utc_now()
    body = json.dumps(event_body(event_type, iso_utc(now), dict(data)), separators=(",", ":"), ensure_ascii=False)
    event = WebhookEvent(
        id=new_id("msg"),
        customer_id=customer_id,
        type=event_type,
        entity_type=event_type.split(".", 1)[0],
        entity_id=str(data.get("id", "")),
        body=body,
        request_id=current_request_id(),
        created_at=now,
    )
    deliveries = [
        WebhookDelivery(
            id=new_id("whd"),
            subscription_id=subscription_id,
            event_id=event.id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for subscription_id in subscription_ids
    ]
    repository.add(session, event)
    repository.add(session, *deliveries)
    return event


# ---------------------------------------------------------------- subscriptions
def _customer_of(principal: Principal) -> str:
    if principal.customer_id is None:
        raise Forbidden("webhooks are managed with a customer key")
    return principal.customer_id


def check_url(url: str, *, https_only: bool, private_networks: bool = True) -> str:
    """The endpoint must be an absolute http(s) URL with a host that can exist and no credentials;
    without `private_networks`, a public one (`destinations.py`)."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise ValidationFailed("url must not contain control characters", field="body.url")
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError as exc:
        raise ValidationFailed(f"url is not a valid URL ({exc})", field="body.url") from None
    allowed = ("https",) if https_only else ("http", "https")
    if parts.scheme not in allowed:
        need = "https" if https_only else "http or https"
        raise ValidationFailed(f"url must use {need}, e.g. https://hooks.example.com/cnh", field="body.url")
    if not parts.hostname:
        raise ValidationFailed(
            "url has no host; give an absolute URL such as https://hooks.example.com/cnh", field="body.url"
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(
            "url must not carry credentials; verify the webhook-signature header instead", field="body.url"
        )
    if port == 0:
        raise ValidationFailed("url port must be between 1 and 65535", field="body.url")
    problem = Destinations(private_networks=private_networks).registration_problem(parts)
    if problem is not None:
        raise ValidationFailed(problem, field="body.url")
    return parts.geturl()


def create_subscription(
    session: Session, *, actor: Principal, body: WebhookCreate, https_only: bool, private_networks: bool
) -> CreatedWebhook:
    customer_id = _customer_of(actor)
    url = check_url(body.url, https_only=https_only, private_networks=private_networks)
    if repository.count_active(session, customer_id) >= MAX_ACTIVE_SUBSCRIPTIONS:
        raise Conflict(f"at most {MAX_ACTIVE_SUBSCRIPTIONS} webhook subscriptions per customer; delete one first")
    subscription = WebhookSubscription(
        id=new_id("whk"),
        customer_id=customer_id,
        url=url,
        secret=signing.generate_secret(),
        event_types=body.events,
        description=body.description,
        status="active",
        created_by=actor.id,
        created_at=utc_now(),
    )
    repository.add(session, subscription)
    append_audit(
        session,
        actor=actor.id,
        action="webhook.created",
        entity_type="webhook",
        entity_id=subscription.id,
        data={
            "customer_id": customer_id,
            "endpoint": _endpoint(url),
            "events": ",".join(body.events) if body.events else "*",
        },
    )
    return CreatedWebhook(**to_out(subscription).model_dump(), secret=subscription.secret)


def _endpoint(url: str) -> str:
    """What the audit log keeps of a URL: no query string, which may hold a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _own(session: Session, principal: Principal, subscription_id: str) -> WebhookSubscription:
    subscription = repository.get_subscription(session, subscription_id)
    if subscription is None or subscription.customer_id != _customer_of(principal):
        raise NotFound(f"no webhook {subscription_id}")  # another customer's webhook does not exist for you
    return subscription


def get_subscription(session: Session, *, principal: Principal, subscription_id: str) -> WebhookOut:
    return to_out(_own(session, principal, subscription_id))


def list_subscriptions(session: Session, *, principal: Principal, limit: int, cursor: str | None) -> Page[WebhookOut]:
    rows = repository.list_subscriptions(
        session, customer_id=_customer_of(principal), after_id=decode_cursor(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, key=lambda s: s.id)
    return Page[WebhookOut](items=[to_out(s) for s in page], next_cursor=next_cursor)


def delete_subscription(session: Session, *, actor: Principal, subscription_id: str) -> WebhookOut:
    """Stop deliveries: pending ones are cancelled; the delivery log stays readable."""
    subscription = _own(session, actor, subscription_id)
    if subscription.status == "deleted":
        return to_out(subscription)
    subscription.status, subscription.deleted_at = "deleted", utc_now()
    cancelled = repository.cancel_pending(session, subscription.id, reason="subscription deleted")
    append_audit(
        session,
        actor=actor.id,
        action="webhook.deleted",
        entity_type="webhook",
        entity_id=subscription.id,
        data={"customer_id": subscription.customer_id, "cancelled_deliveries": cancelled},
    )
    return to_out(subscription)


def list_deliveries(
    session: Session, *, principal: Principal, subscription_id: str, limit: int, cursor: str | None
) -> Page[DeliveryOut]:
    subscription = _own(session, principal, subscription_id)
    rows = repository.list_deliveries(
        session, subscription_id=subscription.id, after_id=decode_cursor(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, key=lambda row: row[0].id)
    log: dict[str, list[AttemptOut]] = defaultdict(list)
    for attempt in repository.attempts_of(session, [delivery.id for delivery, _ in page]):
        log[attempt.delivery_id].append(
            AttemptOut(
                attempt=attempt.attempt,
                at=attempt.at,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
        )
    items = [
        DeliveryOut(
            id=delivery.id,
            event_id=event.id,
            event_type=event.type,
            entity_id=event.entity_id,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
            log=log[delivery.id],
        )
        for delivery, event in page
    ]
    return Page[DeliveryOut](items=items, next_cursor=next_cursor)


def to_out(subscription: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        events=subscription.event_types,
        description=subscription.description,
        status=subscription.status,
        created_at=subscription.created_at,
        deleted_at=subscription.deleted_at,
    )
