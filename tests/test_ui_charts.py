"""The Today charts: every send and block in the window lands in exactly one bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sendwarden.ui.charts import PLOT_BOTTOM, PLOT_TOP, build_chart

NOW = datetime(2026, 3, 29, 12, 30, tzinfo=UTC)  # a DST change in Europe that weekend
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
POINTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40 * 24 * 3600).map(
            lambda s: NOW - timedelta(seconds=s)
        ),
        st.sampled_from(["sent", "blocked"]),
    ),
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(points=POINTS, zone=ZONES, hourly=st.booleans())
def test_every_point_in_the_window_is_counted_once(
    points: list[tuple[datetime, str]], zone: str, hourly: bool
) -> None:
    chart = build_chart("t", points, now=NOW, timezone=zone, hourly=hourly)
    assert len(chart.bars) == (7 * 24 if hourly else 30)
    assert sum(b.sent for b in chart.bars) == chart.total_sent
    assert sum(b.blocked for b in chart.bars) == chart.total_blocked
    window = timedelta(days=7) if hourly else timedelta(days=31)
    assert chart.total_sent <= sum(1 for t, s in points if s == "sent")
    recent = [(t, s) for t, s in points if NOW - t < window - timedelta(days=1, hours=1)]
    assert chart.total_sent >= sum(1 for _, s in recent if s == "sent")
    for bar in chart.bars:
        assert PLOT_TOP - 0.01 <= bar.blocked_y <= bar.sent_y <= PLOT_BOTTOM
        assert bar.sent_h >= 0 and bar.blocked_h >= 0


def test_the_tallest_bar_fills_the_plot_and_labels_are_local_time() -> None:
    points = [(NOW, "sent")] * 3 + [(NOW - timedelta(hours=2), "blocked")]
    chart = build_chart("t", points, now=NOW, timezone="Asia/Kolkata", hourly=True)
    last = chart.bars[-1]
    assert (last.sent, last.blocked) == (3, 0) and chart.peak == 3
    assert last.sent_y == PLOT_TOP and last.label.endswith("18:00")  # 12:30 UTC is 18:00 IST
    assert chart.bars[-3].blocked == 1
