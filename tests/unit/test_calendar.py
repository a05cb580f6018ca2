"""Business days and redemption deadlines (R13), from replaceable holiday data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.calendar import (
    DATA_DIR,
    BusinessCalendar,
    CalendarError,
    calendar_for,
    coverage_warning,
    load_calendar,
    redemption_deadline,
    start_of_business_day,
    use_holidays_file,
)
from compliance.profiles import load_profile

HKT = ZoneInfo("Asia/Hong_Kong")


@pytest.fixture
def hk_calendar() -> BusinessCalendar:
    return load_calendar("hk_holidays.json")


def hk_end_of(day: date) -> datetime:
    """23:59:59 Hong Kong time on `day`, as UTC (HK is UTC+8)."""
    return datetime(day.year, day.month, day.day, 15, 59, 59, tzinfo=UTC)


def hkt(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HKT)


def test_weekends_and_gazetted_holidays_are_not_business_days(hk_calendar: BusinessCalendar) -> None:
    assert hk_calendar.is_business_day(date(2025, 8, 1)) is True  # Friday
    assert hk_calendar.is_business_day(date(2025, 8, 2)) is False  # Saturday
    assert hk_calendar.is_business_day(date(2025, 8, 3)) is False  # Sunday
    assert hk_calendar.is_business_day(date(2025, 10, 1)) is False  # National Day
    assert hk_calendar.is_business_day(date(2026, 2, 17)) is False  # Lunar New Year's Day


def test_one_business_day_from_friday_is_end_of_monday(hk_calendar: BusinessCalendar) -> None:
    assert hk_calendar.add_business_days(hkt(2025, 8, 1, 10, 0), 1) == hk_end_of(date(2025, 8, 4))


def test_one_business_day_over_christmas_skips_both_holidays_and_the_weekend(
    hk_calendar: BusinessCalendar,
) -> None:
    # Wed 24 Dec 2025 -> Thu 25 and Fri 26 are holidays, then the weekend -> Mon 29 Dec.
    assert hk_calendar.add_business_days(hkt(2025, 12, 24, 9, 0), 1) == hk_end_of(date(2025, 12, 29))


def test_one_business_day_over_lunar_new_year_2026(hk_calendar: BusinessCalendar) -> None:
    assert hk_calendar.add_business_days(hkt(2026, 2, 16, 12, 0), 1) == hk_end_of(date(2026, 2, 20))


def test_zero_business_days_is_the_end_of_the_same_business_day(hk_calendar: BusinessCalendar) -> None:
    assert hk_calendar.add_business_days(hkt(2025, 8, 1, 10, 0), 0) == hk_end_of(date(2025, 8, 1))


def test_zero_business_days_on_a_weekend_or_holiday_is_the_next_business_day(
    hk_calendar: BusinessCalendar,
) -> None:
    assert hk_calendar.add_business_days(hkt(2025, 8, 2, 10, 0), 0) == hk_end_of(date(2025, 8, 4))
    assert hk_calendar.add_business_days(hkt(2025, 10, 1, 10, 0), 0) == hk_end_of(date(2025, 10, 2))


def test_a_weekend_request_gets_no_extra_day(hk_calendar: BusinessCalendar) -> None:
    saturday = hkt(2025, 8, 2, 10, 0)
    assert hk_calendar.add_business_days(saturday, 1) == hk_end_of(date(2025, 8, 4))


def test_the_request_date_is_taken_in_hong_kong_time_not_utc(hk_calendar: BusinessCalendar) -> None:
    # 17:00 UTC on Thursday is 01:00 on Friday in Hong Kong: due by the end of Friday, not Thursday.
    requested = datetime(2025, 7, 31, 17, 0, tzinfo=UTC)
    deadline = hk_calendar.add_business_days(requested, 0)
    assert deadline == hk_end_of(date(2025, 8, 1))
    assert deadline > requested


def test_deadlines_are_aware_utc_at_23_59_59_hong_kong_time(hk_calendar: BusinessCalendar) -> None:
    deadline = hk_calendar.add_business_days(hkt(2025, 8, 1, 10, 0), 1)
    assert deadline.tzinfo == UTC
    local = deadline.astimezone(HKT)
    assert (local.hour, local.minute, local.second) == (23, 59, 59)


def test_naive_datetimes_are_refused(hk_calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hk_calendar.add_business_days(datetime(2025, 8, 1, 10, 0), 1)


def test_negative_business_days_are_refused(hk_calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        hk_calendar.add_business_days(hkt(2025, 8, 1, 10, 0), -1)


def test_redemption_deadline_follows_each_profiles_business_days() -> None:
    requested = hkt(2025, 12, 24, 9, 0)  # Wednesday before Christmas
    deadlines = {
        name: redemption_deadline(requested, load_profile(name))
        for name in ("hk", "eu-mica", "sg-mas", "us-genius")
    }
    assert deadlines == {
        "hk": hk_end_of(date(2025, 12, 29)),
        "eu-mica": hk_end_of(date(2025, 12, 24)),
        "sg-mas": hk_end_of(date(2026, 1, 5)),  # 29, 30, 31 Dec, (1 Jan holiday), 2 Jan, 5 Jan
        "us-genius": hk_end_of(date(2025, 12, 30)),
    }


def test_a_replacement_calendar_file_changes_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "test_calendar.json"
    path.write_text(
        json.dumps(
            {
                "name": "test",
                "timezone": "Asia/Hong_Kong",
                "years": [2025],
                "holidays": [{"date": "2025-08-04", "name": "Test day"}],
            }
        )
    )
    calendar = BusinessCalendar.from_file(path)
    assert calendar.add_business_days(hkt(2025, 8, 1, 10, 0), 1) == hk_end_of(date(2025, 8, 5))


def test_outside_the_listed_years_only_weekends_count_and_covers_says_so(
    hk_calendar: BusinessCalendar,
) -> None:
    assert hk_calendar.covers(date(2027, 12, 31)) is True
    assert hk_calendar.covers(date(2028, 1, 3)) is False
    assert hk_calendar.is_business_day(date(2028, 1, 3)) is True  # Monday, no list for 2028


def test_a_zone_missing_on_the_machine_falls_back_to_the_fixed_offset() -> None:
    calendar = BusinessCalendar.from_data(
        {
            "name": "t",
            "timezone": "Nowhere/Atlantis",
            "utc_offset_minutes": 480,
            "years": [2025],
            "holidays": [],
        }
    )
    assert calendar.tz.utcoffset(None) == timedelta(hours=8)
    assert calendar.add_business_days(datetime(2025, 8, 1, 2, 0, tzinfo=UTC), 0) == hk_end_of(
        date(2025, 8, 1)
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Asia/Hong_Kong", "years": [2025], "holidays": []}, "missing key 'name'"),
        (
            {
                "name": "t",
                "timezone": "Asia/Hong_Kong",
                "years": [2025],
                "holidays": [{"date": "2026-01-01"}],
            },
            "outside",
        ),
        (
            {"name": "t", "timezone": "Asia/Hong_Kong", "years": ["2025"], "holidays": []},
            "years must be a list",
        ),
        (
            {
                "name": "t",
                "timezone": "Asia/Hong_Kong",
                "years": [2025],
                "holidays": [{"date": "2025-1-1"}, {}],
            },
            "Invalid isoformat",
        ),
        ({"name": "t", "timezone": "Nowhere/Atlantis", "years": [2025], "holidays": []}, "not found"),
        (
            {
                "name": "t",
                "timezone": "UTC",
                "years": [2025],
                "holidays": [],
                "weekend_isoweekdays": [1, 2, 3, 4, 5, 6, 7],
            },
            "not all of them",
        ),
    ],
)
def test_invalid_calendar_data_is_refused_with_a_clear_message(data: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_data(data, source="t.json")


def test_the_shipped_hk_file_covers_2025_to_2027_with_plausible_holiday_counts(
    hk_calendar: BusinessCalendar,
) -> None:
    raw = json.loads((DATA_DIR / "hk_holidays.json").read_text(encoding="utf-8"))
    assert raw["timezone"] == "Asia/Hong_Kong"
    assert hk_calendar.years == frozenset({2025, 2026, 2027})
    for year in (2025, 2026, 2027):
        count = sum(1 for day in hk_calendar.holidays if day.year == year)
        assert 15 <= count <= 17, (year, count)


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=10),
)
def test_every_deadline_is_after_the_request_and_ends_a_business_day(requested: datetime, n: int) -> None:
    calendar = load_calendar("hk_holidays.json")
    deadline = calendar.add_business_days(requested, n)
    local = deadline.astimezone(HKT)
    assert deadline > requested
    assert calendar.is_business_day(local.date())
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    business_days_between = 0
    day = requested.astimezone(HKT).date()
    while day < local.date():
        day += timedelta(days=1)
        business_days_between += calendar.is_business_day(day)
    assert business_days_between == n or (n == 0 and business_days_between == 1)


def _calendar_file(path: Path, *, years: list[int], weekend: list[int] | None = None,
                   zone: tuple[str, int] = ("Asia/Hong_Kong", 480)) -> Path:
    data = {"name": "ops-replacement", "timezone": zone[0], "utc_offset_minutes": zone[1], "years": years,
            "weekend_isoweekdays": weekend or [6, 7], "holidays": []}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_holidays_file_outside_the_package_replaces_the_shipped_calendar_until_reset(tmp_path: Path) -> None:
    """R13: the operator's file (settings.holidays_file) replaces the profile's shipped calendar."""
    hk = load_profile("hk")
    friday = hkt(2026, 8, 7, 10, 0)
    assert redemption_deadline(friday, hk) == hk_end_of(date(2026, 8, 10))  # shipped: Monday
    six_day_weeks = _calendar_file(tmp_path / "ops.json", years=[2026], weekend=[7])
    try:
        installed = use_holidays_file(six_day_weeks)
        assert installed is not None and calendar_for(hk) == installed
        assert redemption_deadline(friday, hk) == hk_end_of(date(2026, 8, 8))  # Saturday is a business day there
    finally:
        use_holidays_file(None)
    assert calendar_for(hk) == load_calendar("hk_holidays.json")
    assert redemption_deadline(friday, hk) == hk_end_of(date(2026, 8, 10))


def test_a_deadline_in_a_year_without_holiday_data_is_logged_once_not_counted_silently(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R13: BusinessCalendar.covers() is asked for every deadline; an uncovered year warns once."""
    monkeypatch.setattr("compliance.calendar._warned", set())  # other tests may have warned already
    hk, calendar = load_profile("hk"), load_calendar("hk_holidays.json")
    assert coverage_warning(calendar, date(2026, 5, 4)) is None
    warning = coverage_warning(calendar, date(2031, 5, 5))
    assert warning is not None and "lists holidays for 2025-2027, not 2031" in warning
    assert "weekends only" in warning
    with caplog.at_level("WARNING", logger="compliance.calendar"):
        redemption_deadline(hkt(2031, 5, 5, 10, 0), hk)
        redemption_deadline(hkt(2031, 6, 5, 10, 0), hk)
        redemption_deadline(hkt(2026, 6, 5, 10, 0), hk)
    assert [r.getMessage() for r in caplog.records if "2031" in r.getMessage()] == [
        coverage_warning(calendar, date(2031, 5, 5))
    ]


def test_the_daily_limits_day_starts_at_midnight_in_the_zone_of_the_calendar_in_force(tmp_path: Path) -> None:
    """R12: a customer's daily mint and redemption totals restart when the business day the
    deadlines count in (R13) starts, not at Hong Kong's midnight under every calendar."""
    hk = load_profile("hk")
    moment = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 04:00 on the 28th in Hong Kong, 21:00 on the 27th in Berlin
    assert start_of_business_day(moment, hk) == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    berlin = _calendar_file(tmp_path / "berlin.json", years=[2026], zone=("Europe/Berlin", 60))
    try:
        use_holidays_file(berlin)
        assert start_of_business_day(moment, hk) == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
        summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # summer time: Berlin's midnight is 22:00 UTC
        assert start_of_business_day(summer, hk) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    finally:
        use_holidays_file(None)
