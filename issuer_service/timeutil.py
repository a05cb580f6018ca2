"""Day boundaries for daily limits: the issuer's business day is Hong Kong's (R12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo

    HONG_KONG: timezone | ZoneInfo = ZoneInfo("Asia/Hong_Kong")
except Exception:  # noqa: BLE001 - no tz database on the machine: HK has no DST
    HONG_KONG = timezone(timedelta(hours=8))


def start_of_business_day(moment: datetime) -> datetime:
    local = moment.astimezone(HONG_KONG)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
