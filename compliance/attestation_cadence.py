"""When the next attestation report is due, and whether it is overdue (R52, R53, R60).

The profile's `attestation_cadence` ("daily", "weekly" or "monthly") is data: the same code gives
hk a report a day and the monthly regimes one a month. The clock starts at the stated time of the
last report (its block's time: what it attests to). Before the first report nothing is due while
the token has no supply; once it has supply, the first report is overdue at once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from compliance.profiles import RegimeProfile

_FIXED_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass(frozen=True)
class AttestationDue:
    cadence: str
    last_attested_at: datetime | None  # stated time of the last report; None before the first
    due_at: datetime | None  # None: no report made yet (due now if there is supply, else not yet)
    overdue: bool


def next_attestation_due(last_attested_at: datetime, cadence: str) -> datetime:
    """The moment one `cadence` period after the last report. A month is a calendar month, on the
    same day of the month, or the month's last day when it is shorter (31 Jan → 28/29 Feb)."""
    if cadence in _FIXED_PERIODS:
        return last_attested_at + _FIXED_PERIODS[cadence]
    if cadence == "monthly":
        year, month_index = divmod(last_attested_at.year * 12 + last_attested_at.month, 12)  # next month, 0-based
        month = month_index + 1
        day = min(last_attested_at.day, calendar.monthrange(year, month)[1])
        return last_attested_at.replace(year=year, month=month, day=day)
    raise ValueError(f"unknown attestation cadence {cadence!r}")


def attestation_due(
    last_attested_at: datetime | None, *, has_supply: bool, profile: RegimeProfile, now: datetime
) -> AttestationDue:
    """R52/R53 under the profile's cadence: overdue once `now` is past the next due moment, or,
    with no report yet, as soon as there is supply to attest."""
    cadence = profile.attestation_cadence
    if last_attested_at is None:
        return AttestationDue(cadence=cadence, last_attested_at=None, due_at=None, overdue=has_supply)
    due_at = next_attestation_due(last_attested_at, cadence)
    return AttestationDue(cadence=cadence, last_attested_at=last_attested_at, due_at=due_at, overdue=now > due_at)
