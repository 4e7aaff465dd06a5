"""Cron expressions as Dagster's scheduler reads them.

Validation names the field and value that is wrong; descriptions are 24-hour English with the
timezone named; `next_runs` returns exactly the instants at which Dagster's scheduler launches a run.

Tick times come from `cron_ticks`, a port of the function the scheduler daemon itself iterates
(`dagster._utils.schedules.schedule_execution_time_iterator`, Dagster 1.13.27) that does not import
Dagster: importing any part of Dagster takes seconds, which `accsync schedule describe` must not
pay. The tests hold the port to Dagster's iterator over many expressions, timezones and
clock-change nights, and to the daemon's own ticks across the Europe/Oslo clock changes.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import ExpressionDescriptor, Options

from accsync_pipeline.domain import cron_ticks

DEFAULT_TIMEZONE = "Europe/Oslo"


class ScheduleError(ValueError):
    """A schedule, cron expression or timezone that cannot be used; the message says what and where."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    unit: str
    names: tuple[str, ...] = ()  # names[i] stands for the number low + i

    def number(self, token: str) -> int:
        if token.isdigit():
            value = int(token)
            if not self.low <= value <= self.high:
                raise ScheduleError(f"{self.name} field: {value} is out of range {self.low}-{self.high}")
            return value
        if token.lower() in self.names:
            return self.low + self.names.index(token.lower())
        allowed = f"a number {self.low}-{self.high}"
        if self.names:
            allowed += f" or a name {self.names[0].upper()}-{self.names[-1].upper()}"
        raise ScheduleError(f"{self.name} field: '{token}' is not {allowed}")


# Spelled out rather than taken from `calendar`, whose names follow the process locale.
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH_NAMES = tuple(name[:3].lower() for name in _MONTHS)
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    _Field("minute", 0, 59, "minutes"),
    _Field("hour", 0, 23, "hours"),
    _Field("day-of-month", 1, 31, "days"),
    _Field("month", 1, 12, "months", _MONTH_NAMES),
    # 7 is Sunday as well as 0, as in every cron.
    _Field("day-of-week", 0, 7, "days", _DAY_NAMES),
)
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# February counts 29 days: a 29th of February exists in leap years, and Dagster runs it then.
_MAX_DAYS = {month: calendar.monthrange(2024, month)[1] for month in range(1, 13)}


def _parse_item(field: _Field, item: str) -> tuple[str, set[int] | None]:
    """One comma-separated item: its normalised text and the numbers it selects (None for `*`)."""
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit():
            raise ScheduleError(f"{field.name} field: step '{step_text}' in '{item}' is not a whole number")
        step = int(step_text)
        if step == 0:
            raise ScheduleError(f"{field.name} field: step 0 in '{item}' must be at least 1")
    if base == "*":
        low, high, text = field.low, field.high, "*"
    else:
        start, dash, end = base.partition("-")
        if not start or (dash and not end):
            raise ScheduleError(f"{field.name} field: '{item}' is incomplete")
        low = field.number(start)
        # `5/15` means from 5 to the end of the field, as cron reads it.
        high = field.number(end) if dash else (field.high if slash else low)
        if high < low:
            raise ScheduleError(
                f"{field.name} field: range '{base}' runs backwards; write it as ascending ranges"
            )
        text = f"{low}-{high}" if dash else str(low)
    if slash:
        # Dagster only warns about such a step, then runs more often than asked (`*/90` runs hourly).
        if step > high:
            raise ScheduleError(
                f"{field.name} field: step {step} in '{item}' is larger than {high}, "
                f"so it cannot mean every {step} {field.unit}"
            )
        return f"{text}/{step}", set(range(low, high + 1, step))
    return text, (None if base == "*" else set(range(low, high + 1)))


def _parse_field(field: _Field, text: str) -> tuple[str, set[int] | None]:
    if field.name == "day-of-month" and text.lower() == "l":
        return "L", None
    if field.name == "day-of-week" and "#" in text and "," not in text:
        day, _, nth = text.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleError(f"day-of-week field: '#{nth}' must be #1-#5 (which week of the month)")
        return f"{field.number(day)}#{int(nth)}", None
    parts: list[str] = []
    values: set[int] | None = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"{field.name} field: empty item in list '{text}'")
        if item.lower() == "l" or "#" in item:
            raise ScheduleError(f"{field.name} field: '{item.upper()}' must stand alone in its field")
        item_text, item_values = _parse_item(field, item)
        parts.append(item_text)
        values = None if values is None or item_values is None else values | item_values
    return ",".join(parts), values


def _never_occurring_days(days: set[int], months: Iterable[int]) -> str | None:
    month_list = sorted(set(months))
    if min(days) <= max(_MAX_DAYS[m] for m in month_list):
        return None
    names = " or ".join(_MONTHS[m - 1] for m in month_list)
    verb = "never occurs" if len(days) == 1 else "never occur"
    return f"day-of-month field: {_join(sorted(days), 'and')} {verb} in {names}"


def _join(values: Sequence[object], word: str) -> str:
    texts = [str(v) for v in values]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} {word} {texts[-1]}"


@functools.lru_cache(maxsize=4096)
def validate_cron(expression: str) -> str:
    """The expression in normal form (numbers, single spaces), or ScheduleError naming the bad field."""
    text = " ".join(expression.split())
    if not text:
        raise ScheduleError("cron expression is empty")
    text = _MACROS.get(text.lower(), text)
    if text.startswith("@"):
        raise ScheduleError(f"'{text}' is not supported; use one of {', '.join(_MACROS)} or five fields")
    tokens = text.split(" ")
    if len(tokens) != len(_FIELDS):
        hint = " (Dagster schedules have no seconds or years field)" if len(tokens) > len(_FIELDS) else ""
        raise ScheduleError(
            "cron expression needs 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(tokens)} in '{expression.strip()}'{hint}"
        )
    # Quartz writes `?` for "no specific value"; in cron that is `*`.
    parsed = [
        _parse_field(field, "*" if value == "?" and field.name.startswith("day") else value)
        for field, value in zip(_FIELDS, tokens, strict=True)
    ]
    days, months, weekdays = parsed[2][1], parsed[3][1], parsed[4]
    if days is not None and weekdays[0] == "*":
        problem = _never_occurring_days(days, months or range(1, 13))
        if problem:
            raise ScheduleError(problem)
    if "#" in weekdays[0] and parsed[2][0] != "*":
        # croniter accepts it, but cannot iterate it: Dagster's scheduler would fail on every tick.
        raise ScheduleError(
            f"day-of-week field: '{weekdays[0]}' (an nth weekday) cannot be combined with a "
            f"day-of-month ('{parsed[2][0]}'); Dagster's scheduler cannot compute its runs. "
            "Set day-of-month to *"
        )
    normalised = " ".join(part for part, _ in parsed)
    # The scheduler's own check is the last word: whatever it refuses, we refuse.
    if not cron_ticks.is_valid_cron_string(normalised) or cron_ticks.has_out_of_range_cron_interval(
        normalised
    ):
        raise ScheduleError(f"Dagster's scheduler does not accept the cron expression '{normalised}'")
    _check_read_alike(parsed, cron_ticks.read_fields(normalised))
    _check_leap_day(days, months)
    _check_iterable(normalised)
    return normalised


def _check_read_alike(parsed: Sequence[tuple[str, set[int] | None]], read: Sequence[set[int] | None]) -> None:
    """Refuse a field Dagster's scheduler reads otherwise than cron does (`5-5` is every hour to it,
    `23/6` is 0, 6, 12 and 18); the message says how to write what cron means."""
    for field, (text, values), theirs in zip(_FIELDS, parsed, read, strict=True):
        if text == "L" or "#" in text:
            continue
        weekdays = field.name == "day-of-week"
        # Sunday is 0 to Dagster, never 7.
        everything = set(range(field.low, (6 if weekdays else field.high) + 1))
        ours = everything if values is None else {0 if weekdays and v == 7 else v for v in values}
        if ours != (everything if theirs is None else theirs):
            meant, dagster = _compact(ours), "*" if theirs is None else _compact(theirs)
            raise ScheduleError(
                f"{field.name} field: Dagster's scheduler reads '{text}' as {dagster}, "
                f"not {meant}; write {meant}"
            )


def _compact(values: set[int]) -> str:
    """`0,6,12` or `1-5,9`: the numbers, consecutive ones as ranges."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _check_leap_day(days: set[int] | None, months: set[int] | None) -> None:
    """Going back from a day in March before every listed day, Dagster's croniter counts 28 days in
    February and steps over its 29th; from there on the scheduler fails the schedule until the
    next run. Listing the 1st or the 28th keeps it on the 29th; without February or March it never
    crosses from one into the other."""
    if days is None or 29 not in days or days & {1, 28}:
        return
    if months is not None and not {2, 3} <= months:
        return
    raise ScheduleError(
        "day-of-month field: with the 29th in February and March, Dagster's scheduler fails "
        "in March of leap years (looking back, it steps over 29 February); "
        "leave February or March out of the month field, or list the 1st or the 28th too"
    )


# Years whose calendars together hold every weekday/day/leap combination a cron can ask for.
_PROBE_START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def _check_iterable(normalised: str) -> None:
    """Refuse what Dagster's scheduler accepts as text but cannot iterate (it would fail every tick)."""
    try:
        ticks = cron_ticks.schedule_ticks(_PROBE_START, normalised, "UTC")
        for _ in range(2):
            next(ticks)
    except Exception:  # croniter's own errors (CroniterBadDateError, ...) are not a public API
        raise ScheduleError(
            f"Dagster's scheduler cannot compute the run times of '{normalised}'; simplify the expression"
        ) from None


# Names the zone database holds that are not portable zones: the host's own setting, a
# placeholder, and the alternative trees that count leap seconds or follow POSIX rules.
_NOT_PORTABLE = frozenset({"localtime", "factory", "posixrules"})
_NOT_PORTABLE_PREFIXES = ("posix/", "right/")
MAX_TIMEZONE_LENGTH = 64  # the column's width


@cache
def _portable_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> str:
    """The IANA timezone name unchanged, or ScheduleError if it is not a portable zone.

    "localtime" means whatever the host is set to, and "right/..." zones count leap seconds:
    Dagster's daemon, the code server and the admin service may run on different hosts, so
    only names that mean the same everywhere are taken.
    """
    unknown = ScheduleError(
        f"unknown timezone '{name[:MAX_TIMEZONE_LENGTH]}' (use an IANA name such as {DEFAULT_TIMEZONE})"
    )
    if (
        not isinstance(name, str)
        or not name
        or len(name) > MAX_TIMEZONE_LENGTH
        or name.lower() in _NOT_PORTABLE
        or name.lower().startswith(_NOT_PORTABLE_PREFIXES)
        or name not in _portable_zones()
    ):
        raise unknown
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise unknown from None
    return name


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _missing_day_note(cron: str) -> str | None:
    """What happens in months that lack a chosen day: cron skips them, and an accountant should know."""
    _, _, day_field, month_field, weekday_field = cron.split(" ")
    _, days = _parse_field(_FIELDS[2], day_field)
    _, months = _parse_field(_FIELDS[3], month_field)
    month_set = months or set(range(1, 13))
    missing = sorted(d for d in days or () if any(d > calendar.monthrange(2023, m)[1] for m in month_set))
    if not missing:
        return None
    if missing == [29] and month_set == {2}:
        return "only in leap years"
    ordinals = _join([_ordinal(d) for d in missing], "or")
    if days == set(missing) and len(missing) == 1 and weekday_field == "*":
        return f"skipped in months without a {ordinals}"
    return f"no run on the {ordinals} in months without that day"


# cron_descriptor loads its locale file on every ExpressionDescriptor; a thousand orgs share a
# handful of schedules, so each (cron, timezone) is described once per process.
@functools.lru_cache(maxsize=4096)
def describe_cron(cron: str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """24-hour English for a cron expression, with the timezone named: "At 02:00, every day (Europe/Oslo)"."""
    normalised = validate_cron(cron)
    text = ExpressionDescriptor(
        normalised, Options(use_24hour_time_format=True, day_of_week_start_index_zero=True)
    ).get_description()
    _, hour, day, month, weekday = normalised.split(" ")
    if day == month == weekday == "*" and not hour.startswith("*"):
        text += ", every day"
    note = _missing_day_note(normalised)
    return f"{text} ({validate_timezone(timezone)}{'; ' + note if note else ''})"


# The next runs of each (cron, timezone, count), and the instant they were computed after. They
# stay the answer for any later `after` until the first of them passes: a thousand orgs on a
# few dozen schedules iterate cron once per schedule, not once per org and request.
_NEXT_RUNS: dict[tuple[str, str, int], tuple[datetime, tuple[datetime, ...]]] = {}


def next_runs(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` instants after `after` at which Dagster's scheduler launches a run, in `timezone`.

    Give the ScheduleDefinition `validate_cron(cron)`: the times are those of the normalised expression.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    if count < 0:
        raise ValueError("count must not be negative")
    normalised = validate_cron(cron)
    zone = ZoneInfo(validate_timezone(timezone))
    runs: list[datetime] = []
    if count == 0:
        return runs
    cached = _NEXT_RUNS.get((normalised, timezone, count))
    if cached is not None and cached[1] and cached[0] <= after < cached[1][0]:
        return list(cached[1])
    after_timestamp = after.timestamp()
    for tick in cron_ticks.schedule_ticks(after_timestamp, normalised, timezone):
        # The iterator starts at or after the timestamp; a run exactly at `after` is not "next".
        if tick.timestamp() <= after_timestamp:
            continue
        # Through UTC so the instant survives whatever tzinfo the iterator used, folds included.
        runs.append(tick.astimezone(UTC).astimezone(zone))
        if len(runs) == count:
            break
    if len(_NEXT_RUNS) > 4096:
        _NEXT_RUNS.clear()
    _NEXT_RUNS[(normalised, timezone, count)] = (after, tuple(runs))
    return runs
