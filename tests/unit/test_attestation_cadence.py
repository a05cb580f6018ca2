"""The profile's attestation cadence decides when a report is due (R52, R53, R60): data, not code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from compliance.attestation_cadence import attestation_due, next_attestation_due
from compliance.profiles import load_profile

LAST = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cadence", "due"),
    [
        ("daily", datetime(2026, 2, 1, 8, 0, tzinfo=UTC)),
        ("weekly", datetime(2026, 2, 7, 8, 0, tzinfo=UTC)),
        ("monthly", datetime(2026, 2, 28, 8, 0, tzinfo=UTC)),  # a calendar month, clamped to February's end
    ],
)
def test_the_next_report_is_due_one_cadence_period_after_the_last(cadence: str, due: datetime) -> None:
    assert next_attestation_due(LAST, cadence) == due


def test_a_monthly_report_in_december_is_next_due_in_january_of_the_next_year() -> None:
    assert next_attestation_due(datetime(2026, 12, 15, tzinfo=UTC), "monthly") == datetime(2027, 1, 15, tzinfo=UTC)


def test_the_same_last_report_is_overdue_under_hk_daily_and_not_under_a_monthly_profile() -> None:
    now = LAST + timedelta(days=3)
    hk, monthly = load_profile("hk"), load_profile("sg-mas")
    assert (hk.attestation_cadence, monthly.attestation_cadence) == ("daily", "monthly")
    daily_due = attestation_due(LAST, has_supply=True, profile=hk, now=now)
    monthly_due = attestation_due(LAST, has_supply=True, profile=monthly, now=now)
    assert (daily_due.overdue, daily_due.due_at) == (True, LAST + timedelta(days=1))
    assert (monthly_due.overdue, monthly_due.due_at) == (False, datetime(2026, 2, 28, 8, 0, tzinfo=UTC))
    weekly = replace(hk, attestation_cadence="weekly")
    assert attestation_due(LAST, has_supply=True, profile=weekly, now=now).overdue is False


def test_before_the_first_report_one_is_overdue_only_once_there_is_supply() -> None:
    hk = load_profile("hk")
    assert attestation_due(None, has_supply=False, profile=hk, now=LAST).overdue is False
    first = attestation_due(None, has_supply=True, profile=hk, now=LAST)
    assert (first.overdue, first.due_at, first.last_attested_at) == (True, None, None)
