"""The calendar day that daily caps count against (§3.4)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # ZoneInfoNotFoundError is a KeyError; callers (settings, CLI) expect ValueError.
        raise ValueError(
            f"Unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from exc


def validate_timezone(name: str) -> str:
    """Return `name` if it is a known IANA time zone, else raise ValueError."""
    _zone(name)
    return name


def counter_day(now: datetime, timezone: str) -> date:
    """Calendar day of the aware datetime `now` in the IANA zone `timezone`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("counter_day needs a timezone-aware datetime, got a naive one")
    return now.astimezone(_zone(timezone)).date()
