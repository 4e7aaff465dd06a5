"""A stored spec is parsed once and never raises; one function says cron, words and next runs, or why not."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from accsync_pipeline.domain.schedule import (
    CustomSchedule,
    DailySchedule,
    InvalidSchedule,
    ManualSchedule,
    MonthlySchedule,
    Weekday,
    WeeklySchedule,
    stored_schedule,
    view_schedule,
)

OSLO = ZoneInfo("Europe/Oslo")
AFTER = datetime(2026, 1, 5, 12, 0, tzinfo=OSLO)  # a Monday


@pytest.mark.parametrize(
    ("spec", "schedule"),
    [
        ({"kind": "manual"}, ManualSchedule()),
        ({"kind": "daily", "time": "02:00"}, DailySchedule(time(2, 0))),
        (
            {"kind": "weekly", "weekday": "friday", "time": "16:00"},
            WeeklySchedule(Weekday.FRIDAY, time(16, 0)),
        ),
        ({"kind": "monthly", "day": "last", "time": "23:30"}, MonthlySchedule("last", time(23, 30))),
        ({"kind": "custom", "cron": "0  6 * * 1-5"}, CustomSchedule("0 6 * * 1-5")),
    ],
)
def test_a_valid_spec_becomes_its_schedule_and_is_stored_back_in_normal_form(
    spec: dict[str, object], schedule: object
) -> None:
    parsed = stored_schedule(spec)
    assert parsed == schedule
    assert stored_schedule(parsed.to_spec()) == parsed


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"kind": "hourly"}, "kind: 'hourly' must be one of manual, daily, weekly, monthly, custom"),
        ({"kind": "daily"}, "daily schedule: missing time"),
        ({"kind": "daily", "time": "25:00"}, "time: '25:00' is not a 24-hour time HH:MM (00:00-23:59)"),
        ({"kind": "monthly", "day": 31, "time": "02:00"}, "day: 31 must be 1-28 or 'last'"),
        ({"kind": "custom", "cron": "0 0 1 * 5#3"}, "cannot be combined with a day-of-month"),
    ],
)
def test_a_spec_that_no_longer_parses_is_kept_as_stored_with_its_reason(
    spec: dict[str, object], problem: str
) -> None:
    parsed = stored_schedule(spec)
    assert isinstance(parsed, InvalidSchedule)
    assert problem in parsed.problem
    assert parsed.to_spec() == spec and parsed.to_cron() is None
    assert parsed.kind == str(spec["kind"])


def test_the_view_of_a_preset_has_its_cron_words_and_next_runs() -> None:
    view = view_schedule(WeeklySchedule(Weekday.FRIDAY, time(16, 0)), "Europe/Oslo", AFTER, 2)
    assert view.valid and view.problem is None
    assert (view.kind, view.cron) == ("weekly", "0 16 * * 5")
    assert view.description == "At 16:00, only on Friday (Europe/Oslo)"
    assert view.next_runs == (
        datetime(2026, 1, 9, 16, 0, tzinfo=OSLO),
        datetime(2026, 1, 16, 16, 0, tzinfo=OSLO),
    )


def test_the_view_counts_the_runs_asked_for() -> None:
    assert len(view_schedule(DailySchedule(time(2, 0)), "UTC", AFTER, 5).next_runs) == 5
    assert view_schedule(DailySchedule(time(2, 0)), "UTC", AFTER, 0).next_runs == ()


def test_a_manual_schedule_is_valid_and_never_runs() -> None:
    view = view_schedule(ManualSchedule(), "Europe/Oslo", AFTER, 5)
    assert view.valid and view.cron is None and view.next_runs == ()
    assert view.description == "Manual only: runs when someone starts a sync"


def test_an_invalid_schedule_says_why_and_has_no_cron_and_no_runs() -> None:
    stored = stored_schedule({"kind": "daily", "time": "noon"})
    view = view_schedule(stored, "Europe/Oslo", AFTER, 5)
    assert not view.valid and view.kind == "daily"
    assert view.problem == "time: 'noon' is not a 24-hour time HH:MM (00:00-23:59)"
    assert view.description == f"Invalid schedule: {view.problem}"
    assert view.cron is None and view.next_runs == ()


def test_an_unusable_timezone_makes_the_schedule_invalid() -> None:
    view = view_schedule(DailySchedule(time(2, 0)), "localtime", AFTER, 5)
    assert not view.valid and view.cron is None and view.next_runs == ()
    assert view.problem is not None and view.problem.startswith("unknown timezone 'localtime'")
