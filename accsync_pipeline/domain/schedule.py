"""When an organization's sync runs: manual only, a daily/weekly/monthly preset, or a custom cron.

A schedule is stored as a small JSON spec (`to_spec` / `schedule_from_spec`) and runs in the
organization's timezone, which lives beside it (default Europe/Oslo). The store parses it once,
with `stored_schedule`, which never raises: a spec that no longer parses becomes an
`InvalidSchedule` that costs only its own org. `view_schedule` is the one place that turns a
schedule into its cron, words and next runs, or the reason it cannot run. Presets become cron
expressions; cron validation, descriptions and run times are in `accsync_pipeline.domain.cron`.

Monthly presets take a day from 1 to 28, or "last" for the last day of every month: plain cron
skips months without a 29th-31st, and a month-end posting that silently skips February is not
what an accountant expects. A custom cron with such a day keeps cron's behaviour, and its
description says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import ClassVar, Literal

from accsync_pipeline.domain.cron import (
    DEFAULT_TIMEZONE,
    ScheduleError,
    describe_cron,
    next_runs,
    validate_cron,
    validate_timezone,
)

__all__ = [
    "DEFAULT_TIMEZONE",
    "CustomSchedule",
    "DailySchedule",
    "InvalidSchedule",
    "ManualSchedule",
    "MonthlySchedule",
    "Schedule",
    "ScheduleError",
    "ScheduleView",
    "StoredSchedule",
    "Weekday",
    "WeeklySchedule",
    "describe",
    "format_time_of_day",
    "next_runs",
    "parse_time_of_day",
    "schedule_from_spec",
    "schedule_next_runs",
    "stored_schedule",
    "validate_cron",
    "validate_timezone",
    "view_schedule",
]

LAST_DAY = "last"
MAX_MONTHLY_DAY = 28
_TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def cron_number(self) -> int:
        """Cron counts from Sunday = 0."""
        return (list(Weekday).index(self) + 1) % 7


def parse_time_of_day(text: str) -> time:
    """ "02:00" → 02:00; 24-hour HH:MM only, because a schedule never needs seconds."""
    match = _TIME_PATTERN.match(text.strip())
    if not match:
        raise ScheduleError(f"time: '{text}' is not a 24-hour time HH:MM (00:00-23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def format_time_of_day(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _check_time(value: time) -> None:
    if value.tzinfo is not None or value.second or value.microsecond:
        raise ScheduleError(f"time: {value.isoformat()} must be whole minutes without a timezone")


@dataclass(frozen=True)
class ManualSchedule:
    """Runs only when someone starts a sync."""

    kind: ClassVar[Literal["manual"]] = "manual"

    def to_cron(self) -> None:
        return None

    def to_spec(self) -> dict[str, object]:
        return {"kind": self.kind}


@dataclass(frozen=True)
class DailySchedule:
    time: time
    kind: ClassVar[Literal["daily"]] = "daily"

    def __post_init__(self) -> None:
        _check_time(self.time)

    def to_cron(self) -> str:
        return f"{self.time.minute} {self.time.hour} * * *"

    def to_spec(self) -> dict[str, object]:
        return {"kind": self.kind, "time": format_time_of_day(self.time)}


@dataclass(frozen=True)
class WeeklySchedule:
    weekday: Weekday
    time: time
    kind: ClassVar[Literal["weekly"]] = "weekly"

    def __post_init__(self) -> None:
        _check_time(self.time)

    def to_cron(self) -> str:
        return f"{self.time.minute} {self.time.hour} * * {self.weekday.cron_number}"

    def to_spec(self) -> dict[str, object]:
        return {"kind": self.kind, "weekday": self.weekday.value, "time": format_time_of_day(self.time)}


@dataclass(frozen=True)
class MonthlySchedule:
    """On a day 1-28 of every month, or on the last day of every month (`day="last"`)."""

    day: int | Literal["last"]
    time: time
    kind: ClassVar[Literal["monthly"]] = "monthly"

    def __post_init__(self) -> None:
        _check_time(self.time)
        if self.day != LAST_DAY and not (
            isinstance(self.day, int) and not isinstance(self.day, bool) and 1 <= self.day <= MAX_MONTHLY_DAY
        ):
            raise ScheduleError(
                f"day: {self.day!r} must be 1-{MAX_MONTHLY_DAY} or 'last'; "
                "days 29-31 are not in every month, so choose 'last' for month-end"
            )

    def to_cron(self) -> str:
        day = "L" if self.day == LAST_DAY else str(self.day)
        return f"{self.time.minute} {self.time.hour} {day} * *"

    def to_spec(self) -> dict[str, object]:
        return {"kind": self.kind, "day": self.day, "time": format_time_of_day(self.time)}


@dataclass(frozen=True)
class CustomSchedule:
    """Any cron expression Dagster's scheduler accepts; held in normal form."""

    cron: str
    kind: ClassVar[Literal["custom"]] = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cron", validate_cron(self.cron))

    def to_cron(self) -> str:
        return self.cron

    def to_spec(self) -> dict[str, object]:
        return {"kind": self.kind, "cron": self.cron}


Schedule = ManualSchedule | DailySchedule | WeeklySchedule | MonthlySchedule | CustomSchedule

_SPEC_KEYS: dict[str, frozenset[str]] = {
    "manual": frozenset(),
    "daily": frozenset({"time"}),
    "weekly": frozenset({"weekday", "time"}),
    "monthly": frozenset({"day", "time"}),
    "custom": frozenset({"cron"}),
}


def _text(spec: Mapping[str, object], key: str) -> str:
    value = spec[key]
    if not isinstance(value, str):
        raise ScheduleError(f"{key}: expected text, got {value!r}")
    return value


def schedule_from_spec(spec: Mapping[str, object]) -> Schedule:
    """Parse the stored JSON spec, e.g. {"kind": "weekly", "weekday": "friday", "time": "16:00"}."""
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in _SPEC_KEYS:
        raise ScheduleError(f"kind: {kind!r} must be one of {', '.join(_SPEC_KEYS)}")
    expected = _SPEC_KEYS[kind]
    missing = sorted(expected - spec.keys())
    unexpected = sorted(spec.keys() - expected - {"kind"})
    if missing or unexpected:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unexpected {', '.join(unexpected)}"] if unexpected else []
        raise ScheduleError(f"{kind} schedule: {'; '.join(problems)}")
    if kind == "manual":
        return ManualSchedule()
    if kind == "custom":
        return CustomSchedule(_text(spec, "cron"))
    at = parse_time_of_day(_text(spec, "time"))
    if kind == "daily":
        return DailySchedule(at)
    if kind == "weekly":
        weekday = _text(spec, "weekday").strip().lower()
        if weekday not in set(Weekday):
            raise ScheduleError(f"weekday: '{weekday}' must be one of {', '.join(Weekday)}")
        return WeeklySchedule(Weekday(weekday), at)
    return MonthlySchedule(_monthly_day(spec["day"]), at)


def _monthly_day(value: object) -> int | Literal["last"]:
    if value == "last":
        return "last"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ScheduleError(f"day: {value!r} must be 1-{MAX_MONTHLY_DAY} or 'last'")


def describe(schedule: Schedule | str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """24-hour English with the timezone named, e.g. "At 16:00, only on Friday (Europe/Oslo)"."""
    cron = schedule if isinstance(schedule, str) else schedule.to_cron()
    if cron is None:
        return "Manual only: runs when someone starts a sync"
    return describe_cron(cron, timezone)


def schedule_next_runs(schedule: Schedule, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next runs of a schedule, as the scheduler will launch them; none for a manual schedule."""
    cron = schedule.to_cron()
    return [] if cron is None else next_runs(cron, timezone, after, count)


@dataclass(frozen=True)
class InvalidSchedule:
    """A stored spec that no longer parses (saved by hand or by an older version).

    It never runs. It keeps the spec as stored, so that saving another setting writes it back
    unchanged, and the reason, so that the org's owner can be told.
    """

    spec: Mapping[str, object] = field(hash=False)
    problem: str

    @property
    def kind(self) -> str:
        return str(self.spec.get("kind"))

    def to_cron(self) -> None:
        return None

    def to_spec(self) -> dict[str, object]:
        return dict(self.spec)


StoredSchedule = Schedule | InvalidSchedule


def stored_schedule(spec: Mapping[str, object]) -> StoredSchedule:
    """The schedule a stored spec stands for; never raises, so one bad row costs only its own org."""
    try:
        return schedule_from_spec(spec)
    except ScheduleError as e:
        return InvalidSchedule(dict(spec), str(e))


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as people and Dagster see it: its cron, in words, its next runs; or why it cannot run."""

    kind: str
    cron: str | None  # None when manual only, or invalid
    description: str
    next_runs: tuple[datetime, ...]
    problem: str | None = None  # why it cannot run; then there is no cron and no next run

    @property
    def valid(self) -> bool:
        return self.problem is None


def view_schedule(schedule: StoredSchedule, timezone: str, after: datetime, count: int) -> ScheduleView:
    """Cron, description and the next `count` runs after `after` in `timezone`, or the reason it is invalid.

    A timezone that is not usable makes the schedule invalid too: Dagster could not run it.
    """
    problem = schedule.problem if isinstance(schedule, InvalidSchedule) else None
    if not isinstance(schedule, InvalidSchedule):
        try:
            description = describe(schedule, timezone)
            runs = schedule_next_runs(schedule, timezone, after, count)
        except ScheduleError as e:
            problem = str(e)
        else:
            return ScheduleView(schedule.kind, schedule.to_cron(), description, tuple(runs))
    return ScheduleView(schedule.kind, None, f"Invalid schedule: {problem}", (), problem)
