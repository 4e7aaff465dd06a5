"""The schedule model: presets, specs, cron validation, descriptions and run times (clock changes too)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accsync_pipeline.domain.schedule import (
    CustomSchedule,
    DailySchedule,
    ManualSchedule,
    MonthlySchedule,
    Schedule,
    ScheduleError,
    Weekday,
    WeeklySchedule,
    describe,
    next_runs,
    parse_time_of_day,
    schedule_from_spec,
    schedule_next_runs,
    validate_cron,
    validate_timezone,
)

OSLO = ZoneInfo("Europe/Oslo")
TIMEZONES = ["Europe/Oslo", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# 2026-03-29: 02:00 CET becomes 03:00 CEST. 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:xx happens twice.
SPRING_FORWARD_EVE = datetime(2026, 3, 28, 12, 0, tzinfo=OSLO)
FALL_BACK_EVE = datetime(2026, 10, 24, 12, 0, tzinfo=OSLO)


def oslo(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=OSLO, fold=fold)


# --- presets and specs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "cron", "spec"),
    [
        (ManualSchedule(), None, {"kind": "manual"}),
        (DailySchedule(time(2, 0)), "0 2 * * *", {"kind": "daily", "time": "02:00"}),
        (
            WeeklySchedule(Weekday.FRIDAY, time(16, 0)),
            "0 16 * * 5",
            {"kind": "weekly", "weekday": "friday", "time": "16:00"},
        ),
        (
            WeeklySchedule(Weekday.SUNDAY, time(23, 59)),
            "59 23 * * 0",
            {"kind": "weekly", "weekday": "sunday", "time": "23:59"},
        ),
        (MonthlySchedule(15, time(6, 30)), "30 6 15 * *", {"kind": "monthly", "day": 15, "time": "06:30"}),
        (
            MonthlySchedule("last", time(2, 0)),
            "0 2 L * *",
            {"kind": "monthly", "day": "last", "time": "02:00"},
        ),
        (
            CustomSchedule("*/15  8-17 * * MON-FRI"),
            "*/15 8-17 * * 1-5",
            {"kind": "custom", "cron": "*/15 8-17 * * 1-5"},
        ),
    ],
)
def test_preset_cron_and_spec(schedule: Schedule, cron: str | None, spec: dict[str, object]) -> None:
    assert schedule.to_cron() == cron
    assert schedule.to_spec() == spec
    assert schedule_from_spec(spec) == schedule
    assert schedule.kind == spec["kind"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "kind: None must be one of manual, daily, weekly, monthly, custom"),
        ({"kind": "hourly"}, "kind: 'hourly' must be one of"),
        ({"kind": "daily"}, "daily schedule: missing time"),
        ({"kind": "daily", "time": "02:00", "tme": "x"}, "daily schedule: unexpected tme"),
        ({"kind": "daily", "time": "2pm"}, "time: '2pm' is not a 24-hour time HH:MM"),
        ({"kind": "daily", "time": "24:00"}, "time: '24:00' is not a 24-hour time"),
        ({"kind": "daily", "time": 200}, "time: expected text, got 200"),
        ({"kind": "weekly", "weekday": "fredag", "time": "16:00"}, "weekday: 'fredag' must be one of monday"),
        ({"kind": "monthly", "day": 31, "time": "02:00"}, "day: 31 must be 1-28 or 'last'; days 29-31"),
        ({"kind": "monthly", "day": 0, "time": "02:00"}, "day: 0 must be 1-28 or 'last'"),
        ({"kind": "monthly", "day": "15", "time": "02:00"}, "day: '15' must be 1-28 or 'last'"),
        ({"kind": "monthly", "day": True, "time": "02:00"}, "day: True must be 1-28 or 'last'"),
        ({"kind": "custom", "cron": "0 25 * * *"}, "hour field: 25 is out of range 0-23"),
    ],
)
def test_bad_spec_is_rejected_with_the_reason(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        schedule_from_spec(spec)


def test_times_are_whole_minutes() -> None:
    assert parse_time_of_day(" 2:05 ") == time(2, 5)
    with pytest.raises(ScheduleError, match="whole minutes"):
        DailySchedule(time(2, 0, 30))


# --- cron validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("  0   2 *  * * ", "0 2 * * *"),
        ("@daily", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
        ("0 16 * * FRI", "0 16 * * 5"),
        ("0 2 1 jan-mar,oct *", "0 2 1 1-3,10 *"),
        ("0 2 ? * *", "0 2 * * *"),
        ("0 2 l * *", "0 2 L * *"),
        ("0 2 * * mon#1", "0 2 * * 1#1"),
        ("5/15 * * * *", "5/15 * * * *"),
        ("0 0 29 feb *", "0 0 29 2 *"),
        ("0 0 * * 7", "0 0 * * 7"),
    ],
)
def test_valid_cron_is_normalised(expression: str, normalised: str) -> None:
    assert validate_cron(expression) == normalised
    assert validate_cron(normalised) == normalised


INVALID_CRON = [
    ("", "cron expression is empty"),
    (
        "0 2 * *",
        "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4 in '0 2 * *'",
    ),
    ("0 0 2 * * *", "got 6 in '0 0 2 * * *' (Dagster schedules have no seconds or years field)"),
    ("60 2 * * *", "minute field: 60 is out of range 0-59"),
    ("0 25 * * *", "hour field: 25 is out of range 0-23"),
    ("0 2 0 * *", "day-of-month field: 0 is out of range 1-31"),
    ("0 2 32 * *", "day-of-month field: 32 is out of range 1-31"),
    ("0 2 * 13 *", "month field: 13 is out of range 1-12"),
    ("0 2 * * 8", "day-of-week field: 8 is out of range 0-7"),
    ("x 2 * * *", "minute field: 'x' is not a number 0-59"),
    ("0 2 * * fry", "day-of-week field: 'fry' is not a number 0-7 or a name SUN-SAT"),
    ("0 2 * okt *", "month field: 'okt' is not a number 1-12 or a name JAN-DEC"),
    ("0 2 1W * *", "day-of-month field: '1W' is not a number 1-31"),
    ("0 2 * * 5L", "day-of-week field: '5L' is not a number 0-7"),
    ("5-2 * * * *", "minute field: range '5-2' runs backwards"),
    ("5- * * * *", "minute field: '5-' is incomplete"),
    ("1,,2 * * * *", "minute field: empty item in list '1,,2'"),
    ("0 */0 * * *", "hour field: step 0 in '*/0' must be at least 1"),
    ("0 */x * * *", "hour field: step 'x' in '*/x' is not a whole number"),
    ("*/90 * * * *", "minute field: step 90 in '*/90' is larger than 59, so it cannot mean every 90 minutes"),
    ("0 */24 * * *", "hour field: step 24 in '*/24' is larger than 23, so it cannot mean every 24 hours"),
    ("0 2 30 2 *", "day-of-month field: 30 never occurs in February"),
    ("0 2 30,31 feb *", "day-of-month field: 30 and 31 never occur in February"),
    ("0 2 31 4,6 *", "day-of-month field: 31 never occurs in April or June"),
    ("0 2 15,L * *", "day-of-month field: 'L' must stand alone in its field"),
    ("0 2 * * 1#1,3#1", "day-of-week field: '1#1' must stand alone in its field"),
    ("0 2 * * 1#6", "day-of-week field: '#6' must be #1-#5 (which week of the month)"),
    ("@reboot", "'@reboot' is not supported"),
]


@pytest.mark.parametrize(("expression", "message"), INVALID_CRON)
def test_invalid_cron_names_field_and_value(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        validate_cron(expression)
    assert message in str(raised.value)


def test_unknown_timezone() -> None:
    assert validate_timezone("Europe/Oslo") == "Europe/Oslo"
    with pytest.raises(ScheduleError, match="unknown timezone 'Europe/Olso'"):
        validate_timezone("Europe/Olso")
    with pytest.raises(ScheduleError, match="unknown timezone"):
        describe("0 2 * * *", "../etc/passwd")


# --- descriptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        ("0 2 * * *", "At 02:00, every day (Europe/Oslo)"),
        (DailySchedule(time(14, 5)), "At 14:05, every day (Europe/Oslo)"),
        (WeeklySchedule(Weekday.FRIDAY, time(16, 0)), "At 16:00, only on Friday (Europe/Oslo)"),
        (MonthlySchedule(15, time(2, 0)), "At 02:00, on day 15 of the month (Europe/Oslo)"),
        (MonthlySchedule("last", time(2, 0)), "At 02:00, on the last day of the month (Europe/Oslo)"),
        ("0 * * * *", "Every hour (Europe/Oslo)"),
        (
            "*/15 8-17 * * 1-5",
            "Every 15 minutes, between 08:00 and 17:59, Monday through Friday (Europe/Oslo)",
        ),
        ("0 2 31 * *", "At 02:00, on day 31 of the month (Europe/Oslo; skipped in months without a 31st)"),
        (
            "0 2 29 1,2 *",  # not in March: with February and March the 29th is refused
            "At 02:00, on day 29 of the month, only in January and February "
            "(Europe/Oslo; skipped in months without a 29th)",
        ),
        (
            "0 2 30,31 * *",
            "At 02:00, on day 30 and 31 of the month "
            "(Europe/Oslo; no run on the 30th or 31st in months without that day)",
        ),
        (
            "0 0 29 2 *",
            "At 00:00, on day 29 of the month, only in February (Europe/Oslo; only in leap years)",
        ),
        (ManualSchedule(), "Manual only: runs when someone starts a sync"),
    ],
)
def test_description(schedule: Schedule | str, text: str) -> None:
    assert describe(schedule) == text


def test_description_names_the_timezone() -> None:
    assert describe("0 2 * * *", "UTC") == "At 02:00, every day (UTC)"


# --- run times across clock changes (the rules Dagster's scheduler follows) ------------------


def test_daily_run_in_the_skipped_hour_runs_when_the_clocks_have_gone_forward() -> None:
    runs = next_runs("30 2 * * *", "Europe/Oslo", SPRING_FORWARD_EVE, 3)
    assert runs == [oslo("2026-03-29T03:00"), oslo("2026-03-30T02:30"), oslo("2026-03-31T02:30")]
    assert [r.astimezone(UTC).hour for r in runs] == [1, 0, 0]


def test_daily_run_in_the_repeated_hour_runs_once_at_the_second_occurrence() -> None:
    runs = next_runs("30 2 * * *", "Europe/Oslo", FALL_BACK_EVE, 2)
    assert runs == [oslo("2026-10-25T02:30", fold=1), oslo("2026-10-26T02:30")]
    assert runs[0].utcoffset() == timedelta(hours=1)
    assert runs[0].astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_hourly_skips_the_missing_hour_and_runs_in_both_repeated_hours() -> None:
    spring = next_runs("0 * * * *", "Europe/Oslo", oslo("2026-03-29T00:30"), 3)
    assert [r.astimezone(UTC).hour for r in spring] == [0, 1, 2]
    assert [r.hour for r in spring] == [1, 3, 4]
    fall = next_runs("0 * * * *", "Europe/Oslo", oslo("2026-10-25T01:30"), 3)
    assert [r.astimezone(UTC).hour for r in fall] == [0, 1, 2]
    assert [(r.hour, r.utcoffset()) for r in fall] == [
        (2, timedelta(hours=2)),
        (2, timedelta(hours=1)),
        (3, timedelta(hours=1)),
    ]


def test_runs_are_strictly_after_the_given_instant() -> None:
    at = oslo("2026-06-01T02:00")
    assert next_runs("0 2 * * *", "Europe/Oslo", at, 1) == [oslo("2026-06-02T02:00")]
    assert next_runs("0 2 * * *", "Europe/Oslo", at - timedelta(microseconds=1), 1) == [at]


def test_next_runs_arguments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs("0 2 * * *", "Europe/Oslo", datetime(2026, 1, 1), 1)
    assert next_runs("0 2 * * *", "Europe/Oslo", FALL_BACK_EVE, 0) == []
    assert schedule_next_runs(ManualSchedule(), "Europe/Oslo", FALL_BACK_EVE, 3) == []


def test_last_day_of_month_and_missing_days() -> None:
    last = next_runs("0 2 L * *", "Europe/Oslo", oslo("2027-01-15T00:00"), 3)
    assert [r.date().isoformat() for r in last] == ["2027-01-31", "2027-02-28", "2027-03-31"]
    thirty_first = next_runs("0 2 31 * *", "Europe/Oslo", oslo("2027-01-15T00:00"), 3)
    assert [r.date().isoformat() for r in thirty_first] == ["2027-01-31", "2027-03-31", "2027-05-31"]


# --- properties: preset -> cron -> description -> next runs ------------------------------------

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
presets = st.one_of(
    st.builds(DailySchedule, times),
    st.builds(WeeklySchedule, st.sampled_from(Weekday), times),
    st.builds(MonthlySchedule, st.one_of(st.integers(1, 28), st.just("last")), times),
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def _on_the_right_day(schedule: Schedule, run: datetime) -> bool:
    if isinstance(schedule, WeeklySchedule):
        return run.strftime("%A").lower() == schedule.weekday.value
    if isinstance(schedule, MonthlySchedule):
        if schedule.day == "last":
            return (run.date() + timedelta(days=1)).day == 1
        return run.day == schedule.day
    return True


def _wall_time_exists(wall: datetime) -> bool:
    return wall.astimezone(UTC).astimezone(wall.tzinfo).replace(tzinfo=None) == wall.replace(tzinfo=None)


@settings(max_examples=80, deadline=None)
@given(schedule=presets, timezone=st.sampled_from(TIMEZONES), after=instants)
def test_preset_round_trip_and_run_times(schedule: Schedule, timezone: str, after: datetime) -> None:
    assert not isinstance(schedule, ManualSchedule | CustomSchedule)
    cron = schedule.to_cron()
    assert validate_cron(cron) == cron
    assert schedule_from_spec(schedule.to_spec()) == schedule
    assert CustomSchedule(cron).to_cron() == cron

    text = describe(schedule, timezone)
    assert text.startswith(f"At {schedule.time:%H:%M}")
    assert text.endswith(f"({timezone})")
    if isinstance(schedule, WeeklySchedule):
        assert schedule.weekday.value.capitalize() in text

    runs = schedule_next_runs(schedule, timezone, after, 4)
    assert len(runs) == 4
    assert after < runs[0] < runs[1] < runs[2] < runs[3]
    zone = ZoneInfo(timezone)
    for run in runs:
        assert run.tzinfo == zone
        assert _on_the_right_day(schedule, run)
        scheduled = datetime.combine(run.date(), schedule.time, tzinfo=zone)
        if _wall_time_exists(scheduled):
            assert (run.hour, run.minute) == (schedule.time.hour, schedule.time.minute)
            # A wall time that happens twice runs once, at the second occurrence (after the clocks go back).
            assert run.utcoffset() == scheduled.replace(fold=1).utcoffset()
        else:
            # Skipped by the clocks going forward: the run is at the moment of the jump.
            just_before = (run.astimezone(UTC) - timedelta(minutes=1)).astimezone(zone)
            assert just_before.time() < schedule.time < run.time()
