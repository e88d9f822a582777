"""Query parameters of the dashboard pages, read leniently: a bad value means none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request


def int_param(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is None or 0 < number < 2**31 else None


def day_param(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def page_number(request: Request) -> int:
    return min(int_param(request.query_params.get("page")) or 1, 100_000)


def day_bounds(day: date | None, timezone: str) -> tuple[datetime | None, datetime | None]:
    if day is None:
        return None, None
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)
