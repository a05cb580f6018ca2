"""Webhook shapes. The signing secret appears only in CreatedWebhook, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from issuer_service.mints.models import MINT_STATUSES
from issuer_service.redemptions.models import REDEMPTION_STATUSES

# One event per status a mint or redemption can move to (the statuses' own lists are the truth;
# "requested" is the answer to the POST itself, so it is no event).
EVENT_TYPES: tuple[str, ...] = tuple(
    [f"mint.{status}" for status in MINT_STATUSES if status != "requested"]
    + [f"redemption.{status}" for status in REDEMPTION_STATUSES if status != "requested"]
)
MAX_URL_LENGTH = 2048


class WebhookCreate(BaseModel):
    """A customer subscribes an endpoint to mint and redemption status events (POST /v1/webhooks)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where to POST events: an http(s) URL (https only in production mode), without credentials.",
        examples=["https://hooks.example.com/cnh"],
    )
    events: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Event types to receive; omit for all. Known types: " + ", ".join(EVENT_TYPES) + ".",
        examples=[["mint.confirmed", "redemption.paid"]],
    )
    description: str | None = Field(
        default=None, max_length=200, description="Your note about this endpoint.", examples=["treasury bot"]
    )

    @field_validator("events")
    @classmethod
    def _known_event_types(cls, events: list[str] | None) -> list[str] | None:
        if events is None:
            return None
        unknown = [event for event in events if event not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; choose from {', '.join(EVENT_TYPES)}")
        return list(dict.fromkeys(events))  # keep the order, drop repeats

    @field_validator("description")
    @classmethod
    def _printable(cls, description: str | None) -> str | None:
        if description is not None and any(ord(char) < 0x20 or ord(char) == 0x7F for char in description):
            raise ValueError("description must not contain control characters")
        return description


class WebhookOut(BaseModel):
    """A webhook subscription without its secret: where events go and which ones (GET /v1/webhooks and
    /v1/webhooks/{webhook_id})."""

    id: str = Field(description="Subscription id.", examples=["whk_018c2f1e3a4b9f3e2d1c0b0a"])
    url: str = Field(description="The endpoint events are POSTed to.", examples=["https://hooks.example.com/cnh"])
    events: list[str] | None = Field(description="Event types delivered; null means all.", examples=[None])
    description: str | None = Field(description="Your note about this endpoint.", examples=["treasury bot"])
    status: str = Field(description="active, or deleted (nothing more is delivered).", examples=["active"])
    created_at: datetime = Field(description="When it was created (UTC).", examples=["2025-11-25T18:44:00.123456Z"])
    deleted_at: datetime | None = Field(description="When it was deleted; null while active.", examples=[None])


class CreatedWebhook(WebhookOut):
    """A new webhook subscription with its signing secret, shown only in this answer (POST /v1/webhooks)."""

    secret: str = Field(
        description="The signing secret (Standard Webhooks, whsec_ + base64). Shown this once: keep it to verify "
        "the webhook-signature header of every message.",
        examples=["whsec_c2FuZGJveC1leGFtcGxlLW9ubHk="],
    )


class AttemptOut(BaseModel):
    """One try at delivering an event to the endpoint, and what came back."""

    attempt: int = Field(description="1 for the first try, then each retry.", examples=[1])
    at: datetime = Field(description="When it was sent (UTC).", examples=["2025-11-25T18:44:01.123456Z"])
    status_code: int | None = Field(description="The endpoint's HTTP status; null if none came back.", examples=[200])
    error: str | None = Field(description="Why the attempt failed; null on success.", examples=[None])
    duration_ms: int = Field(description="How long the endpoint took to answer.", examples=[42])


class DeliveryOut(BaseModel):
    """One event sent to a webhook, its delivery status and every attempt
    (GET /v1/webhooks/{webhook_id}/deliveries)."""

    id: str = Field(description="Delivery id.", examples=["whd_018c2f1e3a4b9f3e2d1c0b0a"])
    event_id: str = Field(
        description="The message id, sent as webhook-id; the same on every retry.",
        examples=["msg_018c2f1e3a4b9f3e2d1c0b0a"],
    )
    event_type: str = Field(description="What happened.", examples=["mint.confirmed"])
    entity_id: str = Field(description="The mint or redemption.", examples=["mnt_018c2f1e3a4b9f3e2d1c0b0a"])
    status: str = Field(
        description="pending (retrying), succeeded (a 2xx came back), failed (gave up after the last retry) or "
        "cancelled (the subscription was deleted).",
        examples=["succeeded"],
    )
    attempts: int = Field(description="Attempts made so far.", examples=[1])
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due while pending; null otherwise.", examples=[None]
    )
    last_status_code: int | None = Field(description="HTTP status of the latest attempt.", examples=[200])
    last_error: str | None = Field(description="Why the latest attempt failed.", examples=[None])
    delivered_at: datetime | None = Field(
        description="When a 2xx came back (UTC).", examples=["2025-11-25T18:44:01.123456Z"]
    )
    created_at: datetime = Field(description="When the event was queued (UTC).", examples=["2025-11-25T18:44:00Z"])
    log: list[AttemptOut] = Field(description="Every attempt, oldest first.", examples=[[]])


def event_body(event_type: str, timestamp: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks payload shape: {type, timestamp, data}."""
    return {"type": event_type, "timestamp": timestamp, "data": data}
