"""Business days and redemption deadlines (R13).

The holidays are data (compliance/data/*.json), not code, so a newly gazetted year is a file edit.
An operator replaces them without editing the package by pointing the service's `holidays_file`
setting (CNH_HOLIDAYS_FILE) at a file of the same format; the app installs it at start-up with
`use_holidays_file`. A deadline is the end (23:59:59 local time) of a business day, returned as an
aware UTC datetime. A date in a year the file does not list counts weekends only: that is logged
(once per year) and shown in the compliance report, never silent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compliance.profiles import RegimeProfile

DATA_DIR = Path(__file__).resolve().parent / "data"
log = logging.getLogger(__name__)
END_OF_DAY = time(23, 59, 59)
# Guards the day-by-day walk: no real calendar has a year without business days.
_MAX_SCAN_DAYS = 366


class CalendarError(ValueError):
    """A calendar data file is invalid."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekends plus listed holidays, in one time zone.

    Dates in years outside `years` count weekends only: a deadline then errs early, toward the
    holder, never late. `covers()` tells operations when the file needs the next year's list.
    """

    name: str
    tz: tzinfo
    holidays: frozenset[date]
    years: frozenset[int]
    weekend_isoweekdays: frozenset[int] = frozenset({6, 7})

    @classmethod
    def from_file(cls, path: str | Path) -> BusinessCalendar:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CalendarError(f"{path.name}: not valid JSON: {exc}") from None
        return cls.from_data(data, source=path.name)

    @classmethod
    def from_data(cls, data: object, *, source: str = "<data>") -> BusinessCalendar:
        if not isinstance(data, dict):
            raise CalendarError(f"{source}: must contain a JSON object")
        try:
            name = str(data["name"])
            tz = _zone(str(data["timezone"]), data.get("utc_offset_minutes"))
            years = frozenset(_int_list(data["years"], "years"))
            weekend = frozenset(_int_list(data.get("weekend_isoweekdays", [6, 7]), "weekend_isoweekdays"))
            holidays = frozenset(_holidays(data["holidays"], years))
        except KeyError as exc:
            raise CalendarError(f"{source}: missing key {exc}") from None
        except (TypeError, ValueError) as exc:
            raise CalendarError(f"{source}: {exc}") from None
        if not weekend <= set(range(1, 8)) or len(weekend) == 7:
            raise CalendarError(f"{source}: weekend_isoweekdays must be ISO weekdays 1-7, not all of them")
        return cls(name=name, tz=tz, holidays=holidays, years=years, weekend_isoweekdays=weekend)

    def covers(self, day: date) -> bool:
        """True when `day`'s year has a holiday list in this calendar."""
        return day.year in self.years

    def local_date(self, moment: datetime) -> date:
        """The calendar date of an aware instant in this calendar's time zone."""
        return _require_aware(moment).astimezone(self.tz).date()

    def is_business_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = self.local_date(day)
        return day.isoweekday() not in self.weekend_isoweekdays and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        for _ in range(_MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_business_day(day):
                return day
        raise CalendarError(f"calendar {self.name!r} has no business day within a year of {day}")

    def end_of_day_utc(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """End of the n-th business day after `start` (local date), as an aware UTC datetime.

        n == 0 means the end of `start`'s own day if that is a business day, else of the next one.
        A request on a weekend or holiday gets no extra day: the first business day after a
        Saturday is Monday, whether n is 0 or 1 (R13: the holder is paid as soon as possible).
        """
        if type(n) is not int or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        day = self.local_date(start)
        if n == 0:
            if not self.is_business_day(day):
                day = self.next_business_day(day)
        else:
            for _ in range(n):
                day = self.next_business_day(day)
        return self.end_of_day_utc(day)


def redemption_deadline(
    requested_at: datetime, profile: RegimeProfile, calendar: BusinessCalendar | None = None
) -> datetime:
    """R13: when a valid redemption request must have been paid out (aware UTC)."""
    if calendar is None:
        calendar = calendar_for(profile)
    deadline = calendar.add_business_days(requested_at, profile.redemption_deadline_business_days)
    for day in (calendar.local_date(requested_at), calendar.local_date(deadline)):
        _warn_once_if_uncovered(calendar, day)
    return deadline


# The calendar replacing every profile's shipped file (settings.holidays_file), or None.
_replacement: BusinessCalendar | None = None
_warned: set[tuple[str, int]] = set()


def use_holidays_file(path: str | Path | None) -> BusinessCalendar | None:
    """R13: from now on deadlines use the holidays in `path` (same format as compliance/data/),
    or, with None, each profile's shipped file again. Raises CalendarError or OSError for a bad
    file; the service checks the setting before this is called."""
    global _replacement
    _replacement = BusinessCalendar.from_file(path) if path is not None else None
    return _replacement


def calendar_for(profile: RegimeProfile) -> BusinessCalendar:
    """The calendar the profile's deadlines use: the installed replacement, else its shipped file."""
    return _replacement if _replacement is not None else load_calendar(profile.holiday_calendar)


def start_of_business_day(moment: datetime, profile: RegimeProfile) -> datetime:
    """R12: when the business day holding `moment` began (aware UTC): midnight in the zone of the
    calendar the profile's deadlines use (R13), so daily limits and deadlines count one day alike."""
    calendar = calendar_for(profile)
    return datetime.combine(calendar.local_date(moment), time(0), tzinfo=calendar.tz).astimezone(UTC)


def coverage_warning(calendar: BusinessCalendar, day: date) -> str | None:
    """Why a deadline around `day` may be early, or None when the holiday data covers its year."""
    if calendar.covers(day):
        return None
    return (
        f"holiday calendar {calendar.name!r} lists holidays for {_years_text(calendar.years)}, not {day.year}: "
        f"deadlines in {day.year} count weekends only (early, never late); add that year's holidays "
        "to the calendar file (R13)"
    )


def _warn_once_if_uncovered(calendar: BusinessCalendar, day: date) -> None:
    warning = coverage_warning(calendar, day)
    if warning is not None and (calendar.name, day.year) not in _warned:
        _warned.add((calendar.name, day.year))
        log.warning(warning)


def _years_text(years: Iterable[int]) -> str:
    ordered = sorted(years)
    if not ordered:
        return "no year"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(str(y) for y in ordered)


@cache
def load_calendar(file_name: str) -> BusinessCalendar:
    """Load a calendar shipped in compliance/data/ by file name (cached)."""
    if Path(file_name).name != file_name:
        raise CalendarError(f"calendar must be a file name in {DATA_DIR}, got {file_name!r}")
    return BusinessCalendar.from_file(DATA_DIR / file_name)


def _require_aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware (e.g. UTC); naive times are ambiguous")
    return moment


def _zone(name: str, fallback_offset_minutes: object) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A machine without tz data (no system zoneinfo, no tzdata wheel) still gets the right
        # answer for zones without daylight saving, such as Asia/Hong_Kong (+08:00 since 1979).
        if type(fallback_offset_minutes) is not int:
            raise ValueError(f"time zone {name!r} not found and no utc_offset_minutes given") from None
        return timezone(timedelta(minutes=fallback_offset_minutes), name)


def _int_list(value: object, field: str) -> list[int]:
    if not isinstance(value, list) or not all(type(v) is int for v in value):
        raise ValueError(f"{field} must be a list of integers")
    return value


def _holidays(entries: object, years: Iterable[int]) -> set[date]:
    if not isinstance(entries, list):
        raise ValueError('holidays must be a list of {"date": "YYYY-MM-DD", "name": ...}')
    allowed = set(years)
    days: set[date] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("date"), str):
            raise ValueError(f'holiday entry {entry!r} needs a "date": "YYYY-MM-DD"')
        day = date.fromisoformat(entry["date"])
        if day.year not in allowed:
            raise ValueError(f"holiday {day} is outside the listed years {sorted(allowed)}")
        if day in days:
            raise ValueError(f"holiday {day} is listed twice")
        days.add(day)
    return days
