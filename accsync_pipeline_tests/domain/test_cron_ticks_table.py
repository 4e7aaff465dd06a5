"""The tick port equals Dagster's iterator over a fixed table of crons × zones × clock-change nights.

The generated comparison in `test_cron_ticks.py` searches widely but takes about 15 s; this table
is chosen to reach every path of the port (the simple crons, the hourly, daily, weekly and monthly
fast paths, croniter's path, the leap day, expressions Dagster refuses or cannot iterate) from
starts just before, on and after the nights the clocks change, in about a second, so that it can
run once per mutant. Dagster's own iterator stays the witness: no expected instant is written here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from dagster._utils.schedules import has_out_of_range_cron_interval, is_valid_cron_string
from dagster._utils.schedules import schedule_execution_time_iterator as dagster_ticks

from accsync_pipeline.domain import cron_ticks

# Clocks forward and back at 02:00 and 03:00 (Oslo, New York), by half an hour at 02:00 (Lord
# Howe), at midnight (Havana: there the fast paths and croniter's path part ways), by two hours
# (Troll), a quarter-hour offset with no clock change (Kathmandu), and UTC under both spellings.
ZONES = [
    "Europe/Oslo",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Havana",
    "Antarctica/Troll",  # two hours at once: 01:00 becomes 03:00
    "Asia/Kathmandu",
    "UTC",
    "utc",
]

CRONS = [
    "0 0 * * *",  # the simple daily cron, which may yield its start
    "0 * * * *",  # the simple hourly cron
    "30 * * * *",
    "15,45 * * * *",
    "*/15 * * * *",
    "5,20 * * * *",  # minutes not evenly spread, so that a wrong direction shows
    "* * * * *",
    "* 2 * * *",
    "0 2 * * *",
    "30 2 * * *",
    "30 1 * * *",
    "0 3 * * *",
    "30 2 * * 1-5",
    "0 9 * * 0,6",
    "30 2 * * 0",  # weekly: Oslo's and New York's clocks change on a Sunday
    "0 2 * * 0",  # skipped 02:00 runs at 03:00; the next week at 02:00 again
    "0 9 * * 3",
    "30 2 1 * *",  # monthly
    "0 0 1 * *",  # monthly, at midnight
    "0 1 28 * *",  # the last day of the monthly fast path (Troll's clocks change at 01:00)
    "*/30 9 1 * *",  # minutes listed: croniter's path, not the monthly or weekly fast path
    "*/30 9 * * 1",
    "30 0 * * 0,6",  # daily on two weekdays, at midnight
    "15 2 4 * *",  # Lord Howe's clocks go from 02:00 to 02:30 on 4 October 2026: 02:30, then 02:15
    "15 2 * * *",
    "0 0 * * 0",  # weekly, at midnight: Havana's clocks change on a Sunday at midnight
    "0 2 8 * *",  # New York's spring-forward day in 2026
    "0 9 28 * *",
    "0 9 29 * *",  # the 29th-31st leave the fast path
    "0 9 31 * *",
    "0 9 L * *",
    "0 9 * * 0#1",
    "30 2 29 2 *",
    "*/15 2 * * *",
    "0 */2 * * *",
    "30 * * * 0",  # every hour, on Sundays only: croniter's path for an every-hour expression
    "0 2-3 * * *",
    "45 1,2,3 * * *",
    "0 9 * 3 *",
    "@daily",
    # A step from the field's last value: Dagster reads `23/6` as `*/6`, croniter 7 as 23 alone.
    "0 23/6 * * *",
    "0 23/6,5 * * *",  # in a list too
    "59/20 * * * *",  # the hourly fast path
    "0 9 * * sat/2",  # the daily fast path, on Sundays, Tuesdays, Thursdays and Saturdays
    "0 0 * DEC/5 *",
    "0 0 31/10 * *",
    "0 9 1-31 * sat/2",  # every day listed, no `*` in either day field: the 1st-31st or a weekday
]

TICKS = 8


@cache
def clock_changes(zone: str) -> tuple[datetime, ...]:
    """The instants in 2026 at which the zone's UTC offset changes (tried every quarter hour)."""
    tz = ZoneInfo("UTC" if zone == "utc" else zone)
    changes = []
    at = datetime(2026, 1, 1, tzinfo=UTC)
    offset = at.astimezone(tz).utcoffset()
    while at < datetime(2027, 1, 1, tzinfo=UTC):
        at += timedelta(minutes=15)
        now = at.astimezone(tz).utcoffset()
        if now != offset:
            changes.append(at)
            offset = now
    return tuple(changes)


def starts(zone: str) -> Iterator[float]:
    """Around each clock change (or two ordinary nights): a day before, shortly before, on it, after.

    Whole local hours and midnights are among them, so that a start on a tick is tried too.
    """
    changes = clock_changes(zone) or (
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 2, 28, 12, tzinfo=UTC),
    )
    for change in changes:
        for shift in (-26 * 60, -150, -61, -30, 0, 1, 45):
            yield (change + timedelta(minutes=shift)).timestamp()
    local_midnight = datetime(2026, 3, 28, tzinfo=ZoneInfo("UTC" if zone == "utc" else zone))
    yield local_midnight.timestamp()
    yield (local_midnight + timedelta(hours=9, seconds=30)).timestamp()


def ticks(iterator: Iterator[datetime], count: int = TICKS) -> list[float] | str:
    """The instants, or the name of the error (the same failure on both sides)."""
    try:
        return [t.timestamp() for t in itertools.islice(iterator, count)]
    except cron_ticks.TickBeforeStartError:
        return "CheckError"  # Dagster's name for its failed check that no tick precedes the start
    except Exception as e:
        return type(e).__name__


@pytest.mark.parametrize("cron", CRONS)
def test_the_port_ticks_as_dagster_does(cron: str) -> None:
    count = 2 if cron == "30 2 29 2 *" else TICKS  # a leap day every four years: Dagster walks 4 per tick
    for zone in ZONES:
        for start in starts(zone):
            ours = ticks(cron_ticks.schedule_ticks(start, cron, zone), count)
            theirs = ticks(dagster_ticks(start, cron, zone), count)
            assert ours == theirs, (cron, zone, datetime.fromtimestamp(start, UTC))


def test_the_ticks_are_in_the_schedules_zone() -> None:
    zone = "Australia/Lord_Howe"
    for cron in ("0 * * * *", "30 2 * * *", "0 9 L * *"):
        for start in starts(zone):
            for tick in itertools.islice(cron_ticks.schedule_ticks(start, cron, zone), 3):
                assert str(tick.tzinfo) == zone


# Going back from March of a leap year, Dagster's croniter takes February to have 28 days: from
# before every listed day of March it lands short of the 29th of February, then its check that no
# run comes before the start fails. The 28th or the 1st listed, L, a listed weekday the 29th falls
# on, or no March keeps it on the 29th; starting in February, or on the 1st of March at midnight
# (the walk starts the instant before), too.
LEAP_DAY_CRONS = [
    "0 9 29 * *",
    "30 2 29 * *",
    "0 9 15,29 * *",
    "0 9 27,29 * *",  # lands on the 28th, the day after the 27th, and finds the 27th
    "0 9 28,29 * *",
    "0 9 1,29 * *",
    "0 9 29 * 2",  # the 29th or a Tuesday: 29 February 2028 is a Tuesday
    "0 9 29 * 1",  # the 29th or a Monday: Monday 28 February runs
    "0 9 29 2,3 *",
    "0 9 29 1-2,4-12 *",
    "0 9 L * *",
    "0 0 2,29 * *",  # the 2nd at 00:00 is within the hour after the start: a second step back
    "0 2 2,29 * *",  # from the 2nd before 02:00 the walk goes on from the 1st
    "45 23 29 * *",  # from 23:30 on the 29th, the tick before the start is 29 January: no failure
    "45 23 29 * 1",
    "0 9 * 2,3 2",
]
LEAP_DAY_STARTS = [
    ("UTC", "2028-02-29T08:00"),
    ("UTC", "2028-03-01T05:00"),
    ("UTC", "2028-03-10T12:00"),
    ("UTC", "2028-03-27T12:00"),  # lands on the 28th, the day after the 27th
    ("UTC", "2028-03-28T12:00"),
    ("Europe/Oslo", "2028-02-29T23:00"),
    ("Europe/Oslo", "2028-02-29T23:30"),
    ("Europe/Oslo", "2028-03-01T23:30"),
    ("Europe/Oslo", "2028-03-02T01:30"),
]


@pytest.mark.parametrize("cron", LEAP_DAY_CRONS)
def test_the_port_fails_where_dagster_steps_over_the_leap_day(cron: str) -> None:
    for zone, local in LEAP_DAY_STARTS:
        start = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp()
        ours = ticks(cron_ticks.schedule_ticks(start, cron, zone), 4)
        assert ours == ticks(dagster_ticks(start, cron, zone), 4), (cron, zone, local)


# The 30th of February, missing fields, a sixth field, numbers out of range, names, a step too
# large for its field, days no month has (`* * 31 4 *`), which Dagster cannot iterate.
ODD_CRONS = [
    "0 2 30 2 *",
    "0 2 31 2 *",
    "0 2 30,31 2 *",
    "0 2 29 2 *",
    "* * * *",
    "* * * * * *",
    "60 * * * *",
    "a b c d e",
    "0 0 * * mon",
    "*/90 * * * *",
    "5/70 * * * *",
    "0 */25 * * *",
    "0 0 */32 * *",
    "0 0 1-5/7 * *",
    "0 0 1-10/7 * *",
    "0 0 L/40 * *",
    "0 0 1 */13 *",
    "0 0 * * */8",
    "0 0 * * 1-2/8",
    "0,*/70 * * * *",
    "1-2-3 * * * *",
    "0 0 31 4 *",
    "* * 31 4 0",
    "0 0 30,31 2 *",
    "0 0 L 2 *",
    "0 9 29 2 1",  # the 29th of February or a Monday
    "0 0 30,31 2 1",  # the 30th or 31st of February, or a Monday: Dagster finds no date
    "0 0-0 * * *",  # a range of one: Dagster counts its implied step of 1 as out of range
    "0 0 * * */8,mon-fri",  # a name in a list does not stop the check of the other items
    "0 0 1-L/40 * *",
    "0 0 5-L/31 * *",
    "0 0 31/2 2 *",  # Dagster reads it as every other day from the 1st: not only the 30th/31st
]


@pytest.mark.parametrize("cron", ODD_CRONS)
def test_the_port_accepts_refuses_and_fails_what_dagster_does(cron: str) -> None:
    valid = is_valid_cron_string(cron)
    assert cron_ticks.is_valid_cron_string(cron) == valid
    start = datetime(2026, 3, 28, 23, tzinfo=UTC).timestamp()
    if not valid:
        # Dagster refuses with its own check error; the port with a ValueError naming the cron.
        with pytest.raises(ValueError, match="must be a valid cron schedule"):
            next(cron_ticks.schedule_ticks(start, cron, "UTC"))
        with pytest.raises(Exception):  # any refusal
            next(dagster_ticks(start, cron, "UTC"))
        return
    assert cron_ticks.has_out_of_range_cron_interval(cron) == has_out_of_range_cron_interval(cron)
    for zone in ("Europe/Oslo", "UTC"):
        assert ticks(cron_ticks.schedule_ticks(start, cron, zone)) == ticks(dagster_ticks(start, cron, zone))
