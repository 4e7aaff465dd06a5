"""The Dagster-free tick iterator equals Dagster's own, for many crons × timezones × clock-change nights.

Dagster's `schedule_execution_time_iterator` is the witness: the port (`cron_ticks`) must give the
same instants from any start, the nights the clocks change above all, and accept and refuse the
same expressions.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from dagster._utils.schedules import has_out_of_range_cron_interval, is_valid_cron_string
from dagster._utils.schedules import schedule_execution_time_iterator as dagster_ticks
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accsync_pipeline.domain import cron_ticks

# Zones whose clocks change at 01:00-03:00 (the usual), at midnight (Havana, Santiago, Beirut),
# by half an hour (Lord Howe), at a quarter-hour offset (Chatham), and none at all.
ZONES = [
    "Europe/Oslo",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "Asia/Beirut",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Asia/Kolkata",
    "UTC",
]
TICKS = 25


@cache
def clock_changes(zone: str) -> list[datetime]:
    """The instants in 2026-2028 at which the zone's UTC offset changes (to the hour)."""
    tz = ZoneInfo(zone)
    changes = []
    at = datetime(2026, 1, 1, tzinfo=UTC)
    offset = at.astimezone(tz).utcoffset()
    while at < datetime(2029, 1, 1, tzinfo=UTC):
        at += timedelta(hours=1)
        now = at.astimezone(tz).utcoffset()
        if now != offset:
            changes.append(at)
            offset = now
    return changes


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    single = number.map(str)
    ranged = st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}")
    stepped = st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, max(1, high // 2))).map(
        lambda p: f"{p[0]}/{p[1]}"
    )
    listed = st.lists(number, min_size=2, max_size=4, unique=True).map(
        lambda v: ",".join(map(str, sorted(v)))
    )
    return st.one_of(st.just("*"), single, ranged, stepped, listed)


# Hours 0-4 and days 28-31 are where the rules differ; the fields lean on them.
CRONS = st.one_of(
    st.tuples(
        _field(0, 59),
        st.one_of(_field(0, 23), st.sampled_from(["0", "1", "2", "3", "2-3", "0-4", "1,2,3"])),
        st.one_of(st.just("*"), _field(1, 31), st.sampled_from(["28", "29", "30", "31", "L"])),
        st.one_of(st.just("*"), _field(1, 12), st.sampled_from(["2", "3", "10", "3,10"])),
        st.one_of(st.just("*"), _field(0, 6), st.sampled_from(["0#1", "0#5", "6#2"])),
    ).map(" ".join),
    st.sampled_from(["0 2 * * *", "30 2 * * *", "0 * * * *", "30 * * * *", "30 2 29 2 *", "0 3 * * 0"]),
)


def ticks(iterator: object, count: int = TICKS) -> list[float] | str:
    try:
        return [t.timestamp() for t in itertools.islice(iterator, count)]  # type: ignore[call-overload]
    except cron_ticks.TickBeforeStartError:
        return "CheckError"  # Dagster's name for its failed check that no tick precedes the start
    except Exception as e:  # the same failure on both sides counts as equal
        return type(e).__name__


@settings(max_examples=400, deadline=None)
@given(
    cron=CRONS,
    zone=st.sampled_from(ZONES),
    change=st.integers(0, 5),
    shift_minutes=st.integers(-26 * 60, 2 * 60),
)
# Found by this test: from March of a leap year Dagster's croniter steps back over the 29th of
# February and its iterator fails (a day before Beirut's clocks go forward, on 26 March 2028).
@example(cron="* 0 29 * *", zone="Asia/Beirut", change=4, shift_minutes=-22 * 60)
def test_the_port_ticks_as_dagster_does_around_clock_changes(
    cron: str, zone: str, change: int, shift_minutes: int
) -> None:
    valid = is_valid_cron_string(cron)
    assert cron_ticks.is_valid_cron_string(cron) == valid
    if not valid:
        return
    assert cron_ticks.has_out_of_range_cron_interval(cron) == has_out_of_range_cron_interval(cron)
    changes = clock_changes(zone) or [datetime(2026, 3, 29, 1, tzinfo=UTC)]
    start = (changes[change % len(changes)] + timedelta(minutes=shift_minutes)).timestamp()
    theirs = ticks(dagster_ticks(start, cron, zone))
    ours = ticks(cron_ticks.schedule_ticks(start, cron, zone))
    assert ours == theirs


@settings(max_examples=150, deadline=None)
@given(cron=CRONS, zone=st.sampled_from(ZONES), day=st.integers(0, 3 * 365), second=st.integers(0, 86399))
@example(cron="0 9 15,29 * *", zone="Europe/Oslo", day=799, second=43200)  # 10 March 2028
@example(cron="0 23/6 * * *", zone="UTC", day=0, second=0)  # Dagster: 00, 06, 12, 18; croniter 7: 23
def test_the_port_ticks_as_dagster_does_from_any_instant(cron: str, zone: str, day: int, second: int) -> None:
    if not is_valid_cron_string(cron):
        return
    start = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=second)).timestamp()
    assert ticks(cron_ticks.schedule_ticks(start, cron, zone), 10) == ticks(
        dagster_ticks(start, cron, zone), 10
    )


def test_the_clock_change_rules_hold_in_oslo() -> None:
    """Spelled out: a daily 02:30 runs at 03:00 the night the clocks go forward, and once (the
    second 02:30) the night they go back; an hourly :30 skips the missing hour."""
    spring = datetime(2026, 3, 28, 12, tzinfo=UTC).timestamp()
    daily = [
        t.astimezone(UTC)
        for t in itertools.islice(cron_ticks.schedule_ticks(spring, "30 2 * * *", "Europe/Oslo"), 1)
    ]
    assert daily == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    autumn = datetime(2026, 10, 24, 12, tzinfo=UTC).timestamp()
    daily = [
        t.astimezone(UTC)
        for t in itertools.islice(cron_ticks.schedule_ticks(autumn, "30 2 * * *", "Europe/Oslo"), 2)
    ]
    assert daily == [datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]
    night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC).timestamp()
    hourly = [
        t.astimezone(UTC).hour
        for t in itertools.islice(cron_ticks.schedule_ticks(night, "30 * * * *", "Europe/Oslo"), 3)
    ]
    assert hourly == [23, 0, 1]  # 00:30 CET, 01:30 CET, 03:30 CEST: no 02:30
