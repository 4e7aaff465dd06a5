"""A stored schedule spec that does not parse says exactly what is wrong; the edges of the monthly day."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from accsync_pipeline.domain.schedule import (
    DailySchedule,
    MonthlySchedule,
    ScheduleError,
    schedule_from_spec,
    view_schedule,
)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "daily"}, "daily schedule: missing time"),
        ({"kind": "weekly"}, "weekly schedule: missing time, weekday"),
        ({"kind": "manual", "time": "02:00", "cron": "0 2 * * *"}, "manual schedule: unexpected cron, time"),
        (
            {"kind": "monthly", "weekday": "friday", "cron": "0 2 * * *"},
            "monthly schedule: missing day, time; unexpected cron, weekday",
        ),
        (
            {"kind": "weekly", "weekday": "fri", "time": "16:00"},
            "weekday: 'fri' must be one of monday, tuesday, wednesday, thursday, friday, saturday, sunday",
        ),
        # The day is a number or "last", never a number in words or a yes.
        ({"kind": "monthly", "day": "15", "time": "02:00"}, "day: '15' must be 1-28 or 'last'"),
        ({"kind": "monthly", "day": True, "time": "02:00"}, "day: True must be 1-28 or 'last'"),
        ({"kind": "monthly", "day": None, "time": "02:00"}, "day: None must be 1-28 or 'last'"),
    ],
)
def test_a_spec_that_does_not_parse_says_what_is_wrong(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        schedule_from_spec(spec)
    assert str(raised.value) == message


@pytest.mark.parametrize("day", [1, 28])
def test_the_first_and_the_28th_are_monthly_days(day: int) -> None:
    assert MonthlySchedule(day, time(2, 0)).to_cron() == f"0 2 {day} * *"


@pytest.mark.parametrize("day", [0, 29])
def test_days_outside_1_to_28_are_refused(day: int) -> None:
    with pytest.raises(ScheduleError, match="must be 1-28 or 'last'"):
        MonthlySchedule(day, time(2, 0))


def test_a_schedules_words_name_the_orgs_own_timezone() -> None:
    view = view_schedule(DailySchedule(time(2, 0)), "America/New_York", datetime(2026, 11, 20, tzinfo=UTC), 1)
    assert view.description.endswith("(America/New_York)")
    assert view.next_runs == (datetime(2026, 11, 20, 7, 0, tzinfo=UTC),)
