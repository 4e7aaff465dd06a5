"""A cron that Dagster's scheduler reads or iterates otherwise than cron means is refused, and how.

Dagster's vendored croniter stays the witness: each refused reading is the one it expands, each
refused leap-day schedule one its iterator fails on, and what is accepted it reads and runs as meant.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from dagster._utils.schedules import CroniterShim
from dagster._utils.schedules import schedule_execution_time_iterator as dagster_ticks

from accsync_pipeline.domain.cron import ScheduleError, next_runs, validate_cron


def dagster_reads(cron: str, field: int) -> set[int] | str:
    part = CroniterShim.expand(cron)[0][field]
    return "*" if part == ["*"] else set(part)


@pytest.mark.parametrize(
    ("cron", "field", "theirs", "message"),
    [
        (
            "0 23/6 * * *",
            1,
            {0, 6, 12, 18},
            "hour field: Dagster's scheduler reads '23/6' as 0,6,12,18, not 23; write 23",
        ),
        (
            "59/20 * * * *",
            0,
            {0, 20, 40},
            "minute field: Dagster's scheduler reads '59/20' as 0,20,40, not 59; write 59",
        ),
        (
            "0 0 * dec/5 *",
            3,
            {1, 6, 11},
            "month field: Dagster's scheduler reads '12/5' as 1,6,11, not 12; write 12",
        ),
        # 5/2 is Friday to Saturday in steps of two to Dagster, Friday and Sunday (7) to cron.
        (
            "0 9 * * 5/2",
            4,
            {5},
            "day-of-week field: Dagster's scheduler reads '5/2' as 5, not 0,5; write 0,5",
        ),
        (
            "0 9 * * 6/2",
            4,
            {0, 2, 4, 6},
            "day-of-week field: Dagster's scheduler reads '6/2' as 0,2,4,6, not 6; write 6",
        ),
        # A range of one value is the whole field to Dagster.
        (
            "0 5-5,7-9 * * *",
            1,
            "*",
            "hour field: Dagster's scheduler reads '5-5,7-9' as *, not 5,7-9; write 5,7-9",
        ),
        ("0 9 * * 5-5", 4, "*", "day-of-week field: Dagster's scheduler reads '5-5' as *, not 5; write 5"),
        # After an L, the month is still checked; ranges are written back as ranges.
        ("0 9 L 5-5 *", 3, "*", "month field: Dagster's scheduler reads '5-5' as *, not 5; write 5"),
        (
            "0 1,3,5-6,7-7 * * *",
            1,
            "*",
            "hour field: Dagster's scheduler reads '1,3,5-6,7-7' as *, not 1,3,5-7; write 1,3,5-7",
        ),
    ],
)
def test_a_field_dagster_reads_otherwise_is_refused_with_how_to_write_it(
    cron: str, field: int, theirs: set[int] | str, message: str
) -> None:
    with pytest.raises(ScheduleError) as refused:
        validate_cron(cron)
    assert str(refused.value) == message
    assert dagster_reads(" ".join(cron.replace("dec", "12").split()), field) == theirs
    # What the message says to write is accepted, and Dagster reads it as cron does.
    fields = cron.split()
    fields[field] = message.rsplit("write ", 1)[1]
    fixed = " ".join(fields).replace("dec", "12")
    assert validate_cron(fixed) == fixed
    assert dagster_reads(fixed, field) != theirs


@pytest.mark.parametrize(
    ("cron", "field", "theirs"),
    [
        ("0 9 * * 7", 4, {0}),  # Sunday as 7
        ("0 9 * * 0-7", 4, "*"),
        ("0 9 * * 1-7/2", 4, {0, 1, 3, 5}),
        ("*/15 * * * *", 0, {0, 15, 30, 45}),
        ("0 22/22 * * *", 1, {22}),  # from below the field's end: 22 alone to both
        ("0 0 * 11-12 *", 3, {11, 12}),
        ("0 9 1-31 * *", 2, "*"),  # every day listed is every day to both
        ("0 0-23 * * *", 1, "*"),
    ],
)
def test_a_field_dagster_reads_as_cron_does_is_kept(cron: str, field: int, theirs: set[int] | str) -> None:
    assert validate_cron(cron) == cron
    assert dagster_reads(cron, field) == theirs


LEAP_DAY_MESSAGE = (
    "day-of-month field: with the 29th in February and March, Dagster's scheduler fails in March of "
    "leap years (looking back, it steps over 29 February); leave February or March out of the month "
    "field, or list the 1st or the 28th too"
)
MARCH_2028 = [datetime(2028, 3, 1, 5, tzinfo=UTC) + timedelta(hours=12 * i) for i in range(62)]


def dagster_fails_in_march_2028(cron: str) -> bool:
    for start in MARCH_2028:
        try:
            list(itertools.islice(dagster_ticks(start.timestamp(), cron, "UTC"), 2))
        except Exception:
            return True
    return False


@pytest.mark.parametrize(
    "cron", ["0 9 29 * *", "0 9 15,29 * *", "0 9 29,30 * *", "0 9 29 2,3 *", "0 9 29 * 1"]
)
def test_the_29th_in_february_and_march_is_refused_as_dagster_fails_it(cron: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        validate_cron(cron)
    assert str(refused.value) == LEAP_DAY_MESSAGE
    assert dagster_fails_in_march_2028(cron)


@pytest.mark.parametrize(
    "cron", ["0 9 28,29 * *", "0 9 1,29 * *", "0 9 29 1,3-12 *", "0 9 29 1,2 *", "0 9 29 2 *", "0 9 L * *"]
)
def test_the_29th_without_february_or_march_or_with_the_1st_or_28th_is_kept(cron: str) -> None:
    assert validate_cron(cron) == cron
    assert not dagster_fails_in_march_2028(cron)


def test_every_accepted_cron_on_the_29th_runs_through_march_of_a_leap_year() -> None:
    """Valid means the next runs can be computed, from any day of a leap year's March."""
    for days, months, weekdays in itertools.product(
        ["29", "15,29", "28,29", "1,29", "29,30", "L", "30"],
        ["*", "2", "2,3", "1-2", "3-12"],
        ["*", "1", "2"],
    ):
        try:
            cron = validate_cron(f"0 9 {days} {months} {weekdays}")
        except ScheduleError:
            continue
        for start in MARCH_2028:
            assert next_runs(cron, "UTC", start, 2)
