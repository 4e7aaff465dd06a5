"""The clock-change and validity rules of the tick port, each spelled out with the instants it implies.

Expected values are worked out from the rule (Oslo: CET is UTC+1, CEST UTC+2, clocks forward at
01:00 UTC on 2026-03-29 and back at 01:00 UTC on 2026-10-25; New York: EST UTC-5, EDT UTC-4,
forward at 07:00 UTC on 2026-03-08, back at 06:00 UTC on 2026-11-01).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from croniter import CroniterBadDateError

from accsync_pipeline.domain import cron_ticks


def utc_ticks(start: datetime, cron: str, zone: str, count: int) -> list[datetime]:
    ticks = cron_ticks.schedule_ticks(start.timestamp(), cron, zone)
    return [t.astimezone(UTC) for t in itertools.islice(ticks, count)]


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def test_a_daily_run_at_a_skipped_wall_time_runs_at_the_end_of_the_skipped_hour() -> None:
    # 02:30 CET on 28 March, then 03:00 CEST (no 02:30 that night), then 02:30 CEST.
    start = at("2026-03-27", 12)
    assert utc_ticks(start, "30 2 * * *", "Europe/Oslo", 3) == [
        at("2026-03-28", 1, 30),
        at("2026-03-29", 1, 0),
        at("2026-03-30", 0, 30),
    ]


def test_a_weekly_and_a_monthly_run_at_a_skipped_wall_time_move_the_same_way() -> None:
    # Sunday 29 March 2026 is the spring-forward night in Oslo; 8 March in New York.
    assert utc_ticks(at("2026-03-27", 12), "30 2 * * 0", "Europe/Oslo", 2) == [
        at("2026-03-29", 1, 0),
        at("2026-04-05", 0, 30),
    ]
    assert utc_ticks(at("2026-02-09", 12), "30 2 8 * *", "America/New_York", 2) == [
        at("2026-03-08", 7, 0),
        at("2026-04-08", 6, 30),
    ]


def test_an_every_hour_expression_skips_the_missing_hour() -> None:
    # 00:30 CET, 01:30 CET, then 03:30 CEST: 02:30 does not happen and is not replaced.
    start = at("2026-03-28", 23)
    assert utc_ticks(start, "30 * * * *", "Europe/Oslo", 3) == [
        at("2026-03-28", 23, 30),
        at("2026-03-29", 0, 30),
        at("2026-03-29", 1, 30),
    ]
    # The same on croniter's path (every hour, Sundays only).
    assert utc_ticks(start, "30 * * * 0", "Europe/Oslo", 3) == [
        at("2026-03-28", 23, 30),
        at("2026-03-29", 0, 30),
        at("2026-03-29", 1, 30),
    ]


def test_a_repeated_wall_time_runs_once_at_its_second_occurrence() -> None:
    # 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET) on 25 October: only the second runs.
    start = at("2026-10-24", 12)
    assert utc_ticks(start, "30 2 * * *", "Europe/Oslo", 2) == [
        at("2026-10-25", 1, 30),
        at("2026-10-26", 1, 30),
    ]
    # New York repeats 01:00-02:00 on 1 November: 01:30 EST is 06:30 UTC.
    assert utc_ticks(at("2026-10-31", 12), "30 1 * * *", "America/New_York", 1) == [at("2026-11-01", 6, 30)]
    # On croniter's path too (days 1 and 25 leave the monthly fast path).
    assert utc_ticks(start, "30 2 1,25 * *", "Europe/Oslo", 2) == [
        at("2026-10-25", 1, 30),
        at("2026-11-01", 1, 30),
    ]


def test_an_every_hour_expression_runs_at_both_occurrences_of_a_repeated_hour() -> None:
    # 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC): an hour apart, like every other hour.
    start = at("2026-10-24", 23)
    expected = [
        at("2026-10-24", 23, 30),
        at("2026-10-25", 0, 30),
        at("2026-10-25", 1, 30),
        at("2026-10-25", 2, 30),
    ]
    assert utc_ticks(start, "30 * * * *", "Europe/Oslo", 4) == expected
    # 25 October is a Sunday: from 01:00 CEST on, croniter's path gives the same.
    assert utc_ticks(start, "30 * * * 0", "Europe/Oslo", 4) == expected


def test_a_start_on_a_tick_is_its_first_tick() -> None:
    midnight = datetime(2026, 5, 4, tzinfo=UTC)
    assert utc_ticks(midnight, "0 0 * * *", "UTC", 2) == [midnight, at("2026-05-05", 0)]
    assert utc_ticks(at("2026-05-04", 7), "0 * * * *", "UTC", 2) == [at("2026-05-04", 7), at("2026-05-04", 8)]
    # Other crons walk one tick back and forward again, which lands on the start too.
    assert utc_ticks(at("2026-05-04", 7), "0 7 * * *", "UTC", 2) == [at("2026-05-04", 7), at("2026-05-05", 7)]
    assert utc_ticks(at("2026-05-04", 7), "0 7 4 * *", "UTC", 2) == [at("2026-05-04", 7), at("2026-06-04", 7)]
    assert utc_ticks(at("2026-05-04", 7), "0 7 4,5 * *", "UTC", 2) == [
        at("2026-05-04", 7),
        at("2026-05-05", 7),
    ]


def test_the_hourly_fast_path_counts_minutes_in_a_quarter_hour_offset_zone() -> None:
    # Kathmandu is UTC+05:45: minute 0 local is minute 15 UTC.
    start = at("2026-05-04", 7, 20)
    assert utc_ticks(start, "0,30 * * * *", "Asia/Kathmandu", 3) == [
        at("2026-05-04", 7, 45),
        at("2026-05-04", 8, 15),
        at("2026-05-04", 8, 45),
    ]


def test_the_29th_of_february_runs_in_leap_years_only() -> None:
    assert utc_ticks(at("2026-01-01", 0), "30 2 29 2 *", "UTC", 2) == [
        at("2028-02-29", 2, 30),
        at("2032-02-29", 2, 30),
    ]
    # Dagster runs the 28th's ticks a day later: from the 29th itself, that year's has passed.
    assert utc_ticks(at("2028-02-29", 0), "30 2 29 2 *", "UTC", 1) == [at("2032-02-29", 2, 30)]


@pytest.mark.parametrize(
    ("cron", "valid"),
    [
        ("0 2 * * *", True),
        ("0 2 29 2 *", True),
        ("0 2 30 2 *", False),  # the 30th of February never comes
        ("0 2 31 2 *", False),
        ("0 2 30,31 2 *", True),  # two days: Dagster's test looks for exactly one
        ("0 2 30 2,3 *", True),
        ("* * * *", False),
        ("* * * * * *", False),  # croniter takes seconds; Dagster's schedules do not
        ("61 * * * *", False),
    ],
)
def test_validity(cron: str, valid: bool) -> None:
    assert cron_ticks.is_valid_cron_string(cron) is valid


def test_an_invalid_cron_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^0 2 30 2 \* must be a valid cron schedule$"):
        next(cron_ticks.schedule_ticks(0.0, "0 2 30 2 *", "UTC"))


@pytest.mark.parametrize(
    ("cron", "out_of_range"),
    [
        ("*/59 * * * *", False),
        ("*/60 * * * *", True),  # larger than minute 59
        ("0 */23 * * *", False),
        ("0 */24 * * *", True),
        ("0 0 */31 * *", False),
        ("0 0 */32 * *", True),
        ("0 0 1-10/10 * *", False),  # a step as large as the range's end is allowed
        ("0 0 1-10/11 * *", True),
        ("0 0 5/31 * *", False),  # `5/31` reads as 5-31/31
        ("0 0 5/32 * *", True),
        ("0 0 L/31 * *", False),  # L is the 31st
        ("0 0 * */13 *", True),
        ("0 0 * * */7", False),
        ("0 0 * * */8", True),
        ("0,*/70 * * * *", True),  # any item of a list
        ("*/70,0 * * * *", True),
        ("0 0 * * mon-fri/2", False),  # names are not numbers: not checked
        ("0 0 * * */8,mon-5", True),  # a range with one name is skipped, not the rest of the list
        ("0 0 * * */8,1-fri", True),
    ],
)
def test_out_of_range_steps(cron: str, out_of_range: bool) -> None:
    assert cron_ticks.has_out_of_range_cron_interval(cron) is out_of_range


def test_an_expression_the_step_check_cannot_read_is_not_out_of_range() -> None:
    # A seventh field has no range to check against.
    assert cron_ticks.has_out_of_range_cron_interval("* * * * * * */90") is False


def test_a_fast_path_step_back_from_a_repeated_midnight_fails_as_dagsters_scheduler_does() -> None:
    # Havana's clocks go back from 01:00 to 00:00 on 1 November 2026 (05:00 UTC): from the second
    # midnight the daily fast path steps back to the first, then forward to it, before the start.
    with pytest.raises(cron_ticks.TickBeforeStartError, match=r"^@daily has a run before the start"):
        utc_ticks(at("2026-11-01", 5), "@daily", "America/Havana", 1)


def test_days_no_listed_month_has_fail_as_dagsters_scheduler_does() -> None:
    with pytest.raises(CroniterBadDateError, match=r"^failed to find next date$"):
        next(cron_ticks.schedule_ticks(0.0, "0 0 31 4,6 *", "UTC"))


def test_clock_change_helpers_follow_dateutil() -> None:
    from zoneinfo import ZoneInfo

    oslo = ZoneInfo("Europe/Oslo")
    assert not cron_ticks.datetime_exists(datetime(2026, 3, 29, 2, 30, tzinfo=oslo))
    assert cron_ticks.datetime_exists(datetime(2026, 3, 29, 3, 0, tzinfo=oslo))
    assert cron_ticks.datetime_ambiguous(datetime(2026, 10, 25, 2, 30, tzinfo=oslo))
    assert cron_ticks.datetime_ambiguous(datetime(2026, 3, 29, 2, 30, tzinfo=oslo))  # skipped counts too
    assert not cron_ticks.datetime_ambiguous(datetime(2026, 10, 25, 3, 0, tzinfo=oslo))
    # Pyongyang went from UTC+9 back to UTC+8:30 in 2015, standard time on both sides (no DST).
    assert cron_ticks.datetime_ambiguous(datetime(2015, 8, 14, 23, 45, tzinfo=ZoneInfo("Asia/Pyongyang")))


def test_a_start_off_a_tick_by_a_microsecond_is_not_a_tick() -> None:
    # 01:01:01.000001: hour, minute, second and microsecond equal but not zero.
    start = datetime(2026, 5, 4, 1, 1, 1, 1, tzinfo=UTC)
    assert utc_ticks(start, "0 0 * * *", "UTC", 1) == [at("2026-05-05", 0)]
    assert utc_ticks(start, "0 * * * *", "UTC", 1) == [at("2026-05-04", 2)]


def test_ticks_in_utc_are_in_datetime_utc_as_dagsters_are() -> None:
    for zone in ("UTC", "utc"):
        assert next(cron_ticks.schedule_ticks(0.0, "0 * * * *", zone)).tzinfo is UTC


def test_a_step_from_a_fields_last_value_steps_through_the_whole_field() -> None:
    # Dagster's croniter reads `23/6` as `*/6` and `sat/3` as `*/3`; croniter 7 reads 23 and Saturday.
    assert utc_ticks(at("2026-05-04", 0, 30), "0 23/6 * * *", "UTC", 4) == [
        at("2026-05-04", 6),
        at("2026-05-04", 12),
        at("2026-05-04", 18),
        at("2026-05-05", 0),
    ]
    # Monday 4 May 2026: Wednesday, Saturday, Sunday.
    assert utc_ticks(at("2026-05-04", 12), "0 9 * * SAT/3", "UTC", 3) == [
        at("2026-05-06", 9),
        at("2026-05-09", 9),
        at("2026-05-10", 9),
    ]
    assert cron_ticks.is_valid_cron_string("0 0 31/2 2 *")  # every other day of February


def test_from_march_of_a_leap_year_the_29th_fails_as_dagsters_scheduler_does() -> None:
    # Going back from 10 March 2028 Dagster's croniter finds 29 January, then a run on 29 February.
    with pytest.raises(cron_ticks.TickBeforeStartError, match=r"^0 9 29 \* \* has a run before the start"):
        utc_ticks(at("2028-03-10", 12), "0 9 29 * *", "UTC", 1)
    # From the 28th it lands on 29 February, and the runs follow.
    assert utc_ticks(at("2028-03-28", 12), "0 9 29 * *", "UTC", 2) == [
        at("2028-03-29", 9),
        at("2028-04-29", 9),
    ]
    # With the 28th listed it lands on the 29th from any day.
    assert utc_ticks(at("2028-03-10", 12), "0 9 28,29 * *", "UTC", 1) == [at("2028-03-28", 9)]
