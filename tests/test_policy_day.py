from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sendwarden.policy.day import counter_day, validate_timezone


def test_counter_day_utc() -> None:
    assert counter_day(datetime(2026, 3, 1, 23, 59, tzinfo=UTC), "UTC") == date(2026, 3, 1)


def test_counter_day_uses_local_calendar_day_ahead_of_utc() -> None:
    # 23:30 UTC is already the next day in Berlin (UTC+1 in winter).
    now = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    assert counter_day(now, "Europe/Berlin") == date(2026, 1, 16)


def test_counter_day_uses_local_calendar_day_behind_utc() -> None:
    now = datetime(2026, 1, 16, 3, 0, tzinfo=UTC)
    assert counter_day(now, "America/New_York") == date(2026, 1, 15)


def test_counter_day_follows_daylight_saving_time() -> None:
    # Berlin is UTC+2 in summer: 22:30 UTC on 1 July is 00:30 on 2 July.
    assert counter_day(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 7, 2
    )
    assert counter_day(datetime(2026, 1, 1, 22, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 1, 1
    )


def test_counter_day_accepts_any_aware_datetime() -> None:
    tokyo_morning = datetime(2026, 5, 2, 8, 0, tzinfo=timezone(timedelta(hours=9)))
    assert counter_day(tokyo_morning, "UTC") == date(2026, 5, 1)


def test_counter_day_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        counter_day(datetime(2026, 1, 1, 12, 0), "UTC")


def test_counter_day_rejects_unknown_timezone() -> None:
    with pytest.raises(ValueError, match="Unknown time zone 'Mars/Olympus'"):
        counter_day(datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus")


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_validate_timezone_accepts_iana_names(name: str) -> None:
    assert validate_timezone(name) == name


@pytest.mark.parametrize("name", ["", "Nowhere/Land", "utc+1", "../etc/passwd", "/etc/localtime"])
def test_validate_timezone_rejects_unknown_zone_with_clear_message(name: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone") as info:
        validate_timezone(name)
    assert not isinstance(info.value, KeyError)
