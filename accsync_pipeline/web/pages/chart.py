"""The sync history chart: records exported and failed per day, drawn as inline SVG on the server."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from accsync_pipeline.service.history import RunHistoryEntry
from accsync_pipeline.web.formatting import format_count

DAYS_SHOWN = 14
WIDTH = 720
HEIGHT = 240
LEFT = 48  # room for the axis labels
BOTTOM = 28  # room for the dates
TOP = 12


@dataclass(frozen=True)
class DayTotals:
    day: date
    exported: int
    failed: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # shown on hover and read by screen readers


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayColumn:
    day: DayTotals
    exported: Bar
    failed: Bar
    label_x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    columns: list[DayColumn]
    ticks: list[Tick]
    baseline: float
    left: int
    total_exported: int
    total_failed: int


def per_day(entries: Iterable[RunHistoryEntry], timezone: str) -> dict[date, DayTotals]:
    """Exported and failed records per day of the run's start, in the org's timezone."""
    zone = ZoneInfo(timezone)
    sums: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        day = (entry.started_at or entry.created_at).astimezone(zone).date()
        sums[day][0] += entry.exported
        sums[day][1] += entry.failed
    return {d: DayTotals(d, x, f) for d, (x, f) in sums.items()}


def _nice_top(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above `value` (at least 5), so gridlines land on round numbers."""
    top = 5
    step = 1
    while top < value:
        for factor in (1, 2, 5):
            top = factor * step * 10
            if top >= value:
                break
        step *= 10
    return top


def daily_chart(totals: dict[date, DayTotals], today: date, days: int = DAYS_SHOWN) -> Chart:
    """The last `days` days up to `today`, every day present (a day without runs shows as zero)."""
    shown = [
        totals.get(d) or DayTotals(d, 0, 0)
        for d in (today - timedelta(days=n) for n in range(days - 1, -1, -1))
    ]
    top = _nice_top(max([max(d.exported, d.failed) for d in shown] + [1]))
    plot_height = HEIGHT - BOTTOM - TOP
    baseline = HEIGHT - BOTTOM
    slot = (WIDTH - LEFT) / days
    bar_width = slot * 0.36

    def bar(x: float, value: int, what: str, day: date) -> Bar:
        height = plot_height * value / top
        return Bar(round(x, 1), round(baseline - height, 1), round(bar_width, 1), round(height, 1),
                   f"{day:%d.%m.}: {format_count(value)} {what}")  # fmt: skip

    columns = []
    for i, d in enumerate(shown):
        x0 = LEFT + i * slot + slot * 0.12
        columns.append(
            DayColumn(
                day=d,
                exported=bar(x0, d.exported, "exported", d.day),
                failed=bar(x0 + bar_width, d.failed, "failed", d.day),
                label_x=round(LEFT + i * slot + slot / 2, 1),
                label=f"{d.day.day:02d}.{d.day.month:02d}",
            )
        )
    # `top` is 5, 10, 20, 50, ...: a fifth of it is always a whole number.
    ticks = [Tick(round(baseline - plot_height * k / 5, 1), format_count(top * k // 5)) for k in range(6)]
    return Chart(
        WIDTH,
        HEIGHT,
        columns,
        ticks,
        baseline,
        LEFT,
        sum(d.exported for d in shown),
        sum(d.failed for d in shown),
    )


def today_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()
