"""Sends and blocks per time bucket, laid out as SVG bar geometry (rendered by a template)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

WIDTH = 720
HEIGHT = 160
PLOT_TOP = 10
PLOT_BOTTOM = 130


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    sent_y: float
    sent_h: float
    blocked_y: float
    blocked_h: float
    label: str
    sent: int
    blocked: int


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    ticks: list[Tick]
    peak: int
    total_sent: int
    total_blocked: int
    width: int = WIDTH
    height: int = HEIGHT
    plot_bottom: int = PLOT_BOTTOM

    @property
    def summary(self) -> str:
        return (
            f"{self.title}: {self.total_sent} sent, {self.total_blocked} blocked; "
            f"busiest bucket {self.peak}"
        )


def _bucket_starts(end: datetime, step: timedelta, count: int) -> list[datetime]:
    return [end - step * (count - i) for i in range(count)]


def build_chart(
    title: str,
    points: Iterable[tuple[datetime, str]],
    *,
    now: datetime,
    timezone: str,
    hourly: bool,
) -> Chart:
    """Hourly buckets over 7 days (hourly=True) or daily buckets over 30 days, local time."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    if hourly:
        step, count = timedelta(hours=1), 7 * 24
        end = local_now.replace(minute=0, second=0, microsecond=0) + step
    else:
        step, count = timedelta(days=1), 30
        end = local_now.replace(hour=0, minute=0, second=0, microsecond=0) + step
    starts = _bucket_starts(end, step, count)
    first = starts[0]
    sent = [0] * count
    blocked = [0] * count
    for created_at, status in points:
        local = created_at.astimezone(zone)
        if local < first or local >= end:
            continue
        index = int((local - first) / step)
        if status == "sent":
            sent[index] += 1
        else:
            blocked[index] += 1
    peak = max([s + b for s, b in zip(sent, blocked, strict=True)] + [1])
    scale = (PLOT_BOTTOM - PLOT_TOP) / peak
    slot = WIDTH / count
    bars: list[Bar] = []
    ticks: list[Tick] = []
    for i, start in enumerate(starts):
        s_h, b_h = sent[i] * scale, blocked[i] * scale
        label = start.strftime("%a %d %b %H:00" if hourly else "%a %d %b")
        bars.append(
            Bar(
                x=round(i * slot, 2),
                width=round(max(slot - (0.5 if hourly else 2), 0.5), 2),
                sent_y=round(PLOT_BOTTOM - s_h, 2),
                sent_h=round(s_h, 2),
                blocked_y=round(PLOT_BOTTOM - s_h - b_h, 2),
                blocked_h=round(b_h, 2),
                label=label,
                sent=sent[i],
                blocked=blocked[i],
            )
        )
        if (hourly and start.hour == 0) or (not hourly and i % 5 == 0):
            ticks.append(Tick(round(i * slot, 2), start.strftime("%d %b")))
    return Chart(title, bars, ticks, peak, sum(sent), sum(blocked))
