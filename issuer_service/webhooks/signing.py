"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure functions, no I/O.

A message carries three headers:
    webhook-id         the message id; the same on every retry, so receivers can drop duplicates
    webhook-timestamp  integer seconds since the epoch when this attempt was sent
    webhook-signature  "v1,<base64 HMAC-SHA256 over f'{id}.{timestamp}.{body}'>" (space-separated if several)
The key is the base64-decoded part of the secret after "whsec_".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
DEFAULT_TOLERANCE_S = 300  # receivers should refuse messages older or newer than this (replays)


class InvalidSignature(ValueError):
    """The message is not signed with this secret, or its timestamp is outside the tolerance."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("the secret is not whsec_ followed by base64") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify(
    secret: str,
    received_headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise InvalidSignature unless `body` was signed with `secret` recently. What a receiver runs
    before trusting a message (the SDK's helper mirrors this)."""
    lowered = {name.lower(): value for name, value in received_headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not message_id or not timestamp_text or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise InvalidSignature(f"webhook-timestamp is more than {tolerance_s} s away from now")
    expected = sign(secret, message_id, timestamp, body)
    for candidate in signatures.split(" "):
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return
    raise InvalidSignature("no v1 signature matches")
