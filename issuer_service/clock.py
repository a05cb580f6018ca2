"""One place that reads the clock, so every timestamp is UTC and formatted the same way."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds, e.g. "2025-11-25T18:44:00.123456Z" (hashed in audit records)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
