"""The instants at which Dagster's scheduler runs a cron schedule, computed without importing Dagster.

A port of the ascending, single-expression path of `schedule_execution_time_iterator` in
Dagster 1.13.27 (`dagster/_utils/schedules.py`, Apache-2.0), on the croniter package instead of
Dagster's vendored copy. Importing any part of Dagster imports all of it (seconds), which a
command that only shows a schedule's next runs should not pay.

Dagster's rules around clock changes are kept as they are, quirks included: fast paths for
hourly, daily, weekly and monthly expressions; a run at a wall time the clocks skip moves to the
end of the skipped hour (02:30 → 03:00), except for expressions that run every hour, which skip
it; a wall time that happens twice runs once, at its second occurrence, except every-hour
expressions, which run at both. Where Dagster's vendored croniter reads or walks differently
from croniter 7, the vendored way is kept too: a step from a field's last value (`23/6`) steps
through the whole field, and a walk back from March of a leap year may step over the 29th of
February, after which Dagster's iterator fails (`TickBeforeStartError`). The tests hold this
port to Dagster's own iterator over many expressions, timezones and clock-change nights (Dagster
stays the witness): a Dagster upgrade that changes the rules fails them.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

# Monthly schedules on the 29th-31st do not run every month: no fast path for them.
_MAX_DAY_WITH_MONTHLY_INTERVAL = 28
# Hours in which a wall time may be skipped or repeated by a clock change (Dagster's assumption).
_DAYLIGHT_SAVINGS_HOURS = {1, 2, 3}
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7), (0, 59))
_STEP_RANGE = re.compile(r"^([^-]+)-([^-/]+)(/(\d+))?$")
_INT = re.compile(r"^\d+$")
# Each field's values as Dagster's vendored croniter counts them (Saturday is 6), and the last names.
_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_END_NAMES = {3: "dec", 4: "sat"}
_FROM_STEP = re.compile(r"^([0-9a-z]+)/(\d+)$")


class TickBeforeStartError(RuntimeError):
    """Dagster's iterator found a run before its start (a `CheckError`): its scheduler fails the schedule."""


class _Kind(Enum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@functools.lru_cache(maxsize=128)
def _expand(cron: str) -> tuple[list[list[Any]], dict[Any, set[int]]]:
    parts, nth_weekday, *_ = croniter.expand(_as_dagster_reads(cron))
    return [list(part) for part in parts], dict(nth_weekday)


def _as_dagster_reads(cron: str) -> str:
    """The expression as croniter 7 must be given it to read it as Dagster's vendored croniter does.

    `a/n` means a to the field's end in steps of n; when a is the field's last value (`23/6`,
    `sat/2`) the vendored croniter takes the one-value range for the whole field (`0-23/6`),
    croniter 7 for `a` alone. Written without `*`, as a `*` in the other day field would make
    both croniters read a day field that lists every day as `*`. Only croniter reads the result
    (Dagster's matches by text, ` 29 2 *` and its two simple crons, look at the expression given).
    """
    fields = cron.split()
    if len(fields) != len(_FIELD_RANGES):
        return cron
    return " ".join(
        ",".join(_whole_field_step(i, item) for item in f.split(",")) for i, f in enumerate(fields)
    )


def _whole_field_step(i: int, item: str) -> str:
    match = _FROM_STEP.match(item.lower())
    if not match:
        return item
    start = match.group(1)
    low, high = _FIELD_RANGES[i]
    last = start == _END_NAMES.get(i) or (start.isdigit() and int(start) == high)
    return f"{low}-{high}/{match.group(2)}" if last else item


def datetime_exists(date: datetime) -> bool:
    """Whether the wall time occurs in its zone (dateutil's test: it survives a trip through UTC)."""
    naive = date.replace(tzinfo=None)
    return date.astimezone(UTC).astimezone(date.tzinfo).replace(tzinfo=None) == naive


def datetime_ambiguous(date: datetime) -> bool:
    """dateutil's test: the two folds differ in offset or DST (true for a skipped wall time too)."""
    first, second = date.replace(fold=0), date.replace(fold=1)
    return not (first.utcoffset() == second.utcoffset() and first.dst() == second.dst())


def _add_months(date: datetime, months: int) -> datetime:
    """dateutil's relativedelta(months=n) on the monthly fast path, whose days (1-28) every month has.

    Its result comes out of datetime arithmetic, which sets fold 0 (the first of a repeated time)."""
    year, month = divmod(date.year * 12 + date.month - 1 + months, 12)
    return date.replace(year=year, month=month + 1, fold=0)


def _zone(name: str) -> tzinfo:
    return UTC if name in ("UTC", "utc") else ZoneInfo(name)


@functools.cache
def is_valid_cron_string(cron: str) -> bool:
    """Dagster's test: croniter takes it, it has five fields, and it is not the 30th/31st of February."""
    if not croniter.is_valid(cron):
        return False
    expanded, _ = _expand(cron)
    if len(expanded) != 5:
        return False
    return not (expanded[3] == [2] and len(expanded[2]) == 1 and expanded[2][0] in {30, 31})


def read_fields(cron: str) -> list[set[int] | None]:
    """Each field's numbers as Dagster's scheduler reads them (None: all); `L` and `#` left out."""
    parts, _ = _expand(cron)
    return [None if part == ["*"] else {p for p in part if isinstance(p, int)} for part in parts]


def has_out_of_range_cron_interval(cron: str) -> bool:
    """A step larger than its field's range (`*/90` runs hourly, not every 90 minutes)."""
    try:
        for i, part in enumerate(cron.lower().split()):
            items = part.split(",")
            while items:
                item = items.pop()
                text = re.sub(r"^\*(\/.+)$", rf"{_CRON_RANGES[i][0]}-{_CRON_RANGES[i][1]}\1", str(item))
                match = _STEP_RANGE.search(text)
                if not match:
                    text = re.sub(r"^(.+)\/(.+)$", rf"\1-{_CRON_RANGES[i][1]}/\2", str(item))
                    match = _STEP_RANGE.search(text)
                if match:
                    low, high, step = match.group(1), match.group(2), match.group(4) or "1"
                    if i == 2 and high == "l":
                        high = "31"
                    if not _INT.search(low) or not _INT.search(high):
                        continue
                    if int(step) > int(high):
                        return True
    except Exception:  # as Dagster: an expression it cannot read this way is not out of range
        return False
    return False


def _repeats_every_hour(cron: str) -> bool:
    parts, _ = _expand(cron)
    return len(parts[1]) == 1 and parts[1][0] == "*"


def _post_transition(date: datetime) -> datetime:
    if date.hour in _DAYLIGHT_SAVINGS_HOURS and not datetime_exists(date):
        # A skipped wall time moves to the end of the skipped window (offsets are whole hours).
        offset = date.tzinfo.dst(date + timedelta(hours=1)) if date.tzinfo else None
        assert offset is not None
        return date.replace(minute=0, second=0, microsecond=0) + offset
    return date


def _fold_and_post_transition(date: datetime) -> datetime:
    date = _post_transition(date)
    if date.fold == 0 and date.hour in _DAYLIGHT_SAVINGS_HOURS and datetime_ambiguous(date):
        return date.replace(fold=1)
    return date


def _replace_fields(date: datetime, hour: int, minute: int, day: int) -> datetime:
    return _fold_and_post_transition(date.replace(day=day, hour=hour, minute=minute, second=0, microsecond=0))


def _crontab_weekday(date: datetime) -> int:
    weekday = date.isoweekday()
    return weekday if weekday <= 6 else 0


def _hourly(
    minutes: Sequence[int], date: datetime, ascending: bool, on_boundary: bool, zone_minutes: bool
) -> datetime:
    sign = 1 if ascending else -1
    if len(minutes) == 1 and (
        on_boundary or (date.minute == minutes[0] and date.second == date.microsecond == 0)
    ):
        # Through UTC, so that an hour is an hour across a clock change.
        return (date.astimezone(UTC) + sign * timedelta(hours=1)).astimezone(date.tzinfo)
    if ascending:
        timestamp = math.ceil(date.timestamp())
        timestamp += (60 - timestamp % 60) % 60
    else:
        timestamp = math.floor(date.timestamp())
        timestamp -= timestamp % 60
    current = (
        datetime.fromtimestamp(timestamp, tz=date.tzinfo).minute if zone_minutes else (timestamp // 60) % 60
    )
    best: int | None = None
    for minute in minutes:
        if ascending:
            candidate = timestamp + 60 * ((minute - current) % 60)
            if candidate <= date.timestamp():
                candidate += 3600
            best = candidate if not best else min(best, candidate)
        else:
            candidate = timestamp - 60 * ((current - minute) % 60)
            if candidate >= date.timestamp():
                candidate -= 3600
            best = candidate if not best else max(best, candidate)
    assert best is not None
    return datetime.fromtimestamp(best, tz=date.tzinfo)


def _moved(new_time: datetime, date: datetime, ascending: bool, on_boundary: bool) -> bool:
    """Whether the candidate still has to move a period on (it is not past `date` yet)."""
    if ascending:
        return on_boundary or new_time.timestamp() <= date.timestamp()
    return on_boundary or new_time.timestamp() >= date.timestamp()


def _daily(
    minute: int, hour: int, weekdays: Sequence[int] | None, date: datetime, ascending: bool, on_boundary: bool
) -> datetime:
    for _ in range(10):
        if not on_boundary or (date.hour, date.minute, date.second, date.microsecond) != (hour, minute, 0, 0):
            new_time = _replace_fields(date, hour, minute, date.day)
        else:
            new_time = date
        if _moved(new_time, date, ascending, on_boundary):
            new_time = new_time + timedelta(days=1 if ascending else -1)
        if new_time.hour != hour or new_time.minute != minute:
            new_time = _replace_fields(new_time, hour, minute, new_time.day)
        date = _fold_and_post_transition(new_time)
        if not weekdays or _crontab_weekday(date) in weekdays:
            return date
        on_boundary = True
    raise RuntimeError("no day of the week matched within a week")


def _weekly(
    minute: int, hour: int, weekday: int, date: datetime, ascending: bool, on_boundary: bool
) -> datetime:
    if not on_boundary:
        new_time = _replace_fields(date, hour, minute, date.day)
        current = _crontab_weekday(new_time)
        if weekday != current:
            if ascending:
                new_time = new_time + timedelta(days=(weekday - current) % 7)
            else:
                new_time = new_time - timedelta(days=(current - weekday) % 7)
    else:
        new_time = date
    if _moved(new_time, date, ascending, on_boundary):
        new_time = new_time + timedelta(weeks=1 if ascending else -1)
    if new_time.hour != hour or new_time.minute != minute:
        new_time = _replace_fields(new_time, hour, minute, new_time.day)
    return _fold_and_post_transition(new_time)


def _monthly(
    minute: int, hour: int, day: int, date: datetime, ascending: bool, on_boundary: bool
) -> datetime:
    new_time = date if on_boundary else _replace_fields(date, hour, minute, day)
    if _moved(new_time, date, ascending, on_boundary):
        new_time = _add_months(new_time, 1 if ascending else -1)
    if new_time.hour != hour or new_time.minute != minute:
        new_time = _replace_fields(new_time, hour, minute, day)
    return _fold_and_post_transition(new_time)


def _ambiguous_candidates(cron_iter: croniter, next_date: datetime, every_hour: bool) -> list[datetime]:
    """Both occurrences of a repeated wall time (every-hour expressions), or only the second."""
    post = next_date.replace(fold=1)
    if not every_hour:
        return [post]
    pre = next_date.replace(fold=0)
    candidates = [post, pre]
    current_pre = pre
    while current_pre.timestamp() < post.timestamp():
        wall = cron_iter.get_next(datetime)
        current_pre = _on_wall(wall, post.tzinfo, fold=0)
        candidates += [current_pre, _on_wall(wall, post.tzinfo, fold=1)]
    return sorted(candidates, key=lambda d: d.timestamp())


def _on_wall(wall: datetime, zone: tzinfo | None, fold: int = 0) -> datetime:
    return datetime(
        wall.year,
        wall.month,
        wall.day,
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond,
        zone,
        fold=fold,
    )


def _croniter_ticks(cron: str, start: datetime) -> Iterator[datetime]:
    """croniter on wall times, each placed in the zone by Dagster's clock-change rules."""
    # An hour back, so that the first occurrence of a repeated wall time is considered too.
    naive = start.replace(tzinfo=None) - timedelta(hours=1)
    cron_iter = croniter(cron, naive)
    every_hour = _repeats_every_hour(cron)
    after = start.timestamp()
    candidates: list[datetime] = []
    while True:
        for candidate in candidates:
            if candidate.timestamp() > after:
                after = candidate.timestamp()
                yield candidate
        wall = _on_wall(cron_iter.get_next(datetime), start.tzinfo)
        candidates = [wall]
        if not datetime_exists(wall):
            candidates = [] if every_hour else [_post_transition(wall)]
        elif datetime_ambiguous(wall):
            candidates = _ambiguous_candidates(cron_iter, wall, every_hour)


def _croniter_path(start_timestamp: float, cron: str, timezone: str) -> Iterator[datetime]:
    start = datetime.fromtimestamp(start_timestamp, _zone(timezone))
    read = _as_dagster_reads(cron)
    previous = _previous_croniter_tick(read, start)
    for tick in _croniter_ticks(read, previous.astimezone(start.tzinfo)):
        _check_not_before(tick, start_timestamp, cron)
        yield tick


def _check_not_before(tick: datetime, start_timestamp: float, cron: str) -> None:
    """Dagster's check that no tick comes before the start. It fails where its walk back stepped over
    a leap day (`_vendored_prev`), or where a fast path's step back from a start in a repeated hour
    lands after it (midnight in Havana the night its clocks go back): its scheduler fails there."""
    if tick.timestamp() < start_timestamp:
        raise TickBeforeStartError(f"{cron} has a run before the start its runs were computed from")


def _previous_croniter_tick(cron: str, start: datetime) -> datetime:
    """The last tick before `start` (Dagster walks back one tick, then forward from it)."""
    naive = start.replace(tzinfo=None) + timedelta(hours=1)
    cron_iter = croniter(cron, naive)
    every_hour = _repeats_every_hour(cron)
    before = start.timestamp()
    candidates: list[datetime] = []
    while True:
        for candidate in reversed(candidates):
            if candidate.timestamp() < before:
                return candidate
        wall = _on_wall(_vendored_prev(cron_iter, cron), start.tzinfo)
        candidates = [wall]
        if not datetime_exists(wall):
            candidates = [] if every_hour else [_post_transition(wall)]
        elif datetime_ambiguous(wall):
            candidates = _ambiguous_candidates_backwards(cron_iter, cron, wall, every_hour)


def _vendored_prev(cron_iter: croniter, cron: str) -> datetime:
    """croniter's previous match, or the earlier one Dagster's vendored croniter returns instead.

    Going back from a day in March before every listed day of the month, the vendored croniter
    counts 28 days in February whatever the year, and lands short of the 29th: `0 9 29 * *` from
    10 March 2028 gives 29 January, not 29 February. The vendored walk then goes on correctly
    from the day it landed on (the day after the last listed day up to the 28th, else the
    starting day + 1 in February). A listed weekday (`29 * 2`: the 29th or a Tuesday) is looked
    for separately, and the later of the two wins, as in both croniters: the 29th itself, when it
    falls on one. Only the first step back can go wrong (from March), and the walk back stops at
    its result, which is before the start; so croniter is not moved to it.
    """
    now = cron_iter.get_current(datetime)
    match: datetime = cron_iter.get_prev(datetime)
    parts, _ = _expand(cron)
    days, months, weekdays = parts[2], parts[3], parts[4]
    # The day the vendored walk looks for a listed day from: that of the instant before `now`, or
    # the day before if that one is listed (it has no run before `now`, or that run would be the match).
    walk = now - timedelta.resolution
    if walk.day in days:
        walk -= timedelta(days=1)
    if (
        (match.month, match.day) != (2, 29)
        or walk.month != 3
        or days == ["*"]
        or "l" in days
        or min(days) <= walk.day
        or (months != ["*"] and 3 not in months)
    ):
        return match
    below = [day for day in days if day <= 28]
    landing = datetime(match.year, 2, (max(below) if below else walk.day) + 1)
    fields = cron.split()
    found = croniter(" ".join([*fields[:4], "*"]), landing + timedelta(days=1)).get_prev(datetime)
    if weekdays != ["*"]:
        weekday = croniter(" ".join([*fields[:2], "*", *fields[3:]]), now).get_prev(datetime)
        found = max(found, weekday)
    return found


def _ambiguous_candidates_backwards(
    cron_iter: croniter, cron: str, next_date: datetime, every_hour: bool
) -> list[datetime]:
    post = next_date.replace(fold=1)
    if not every_hour:
        return [post]
    pre = next_date.replace(fold=0)
    candidates = [post, pre]
    current_post = post
    while current_post.timestamp() > pre.timestamp():
        wall = _vendored_prev(cron_iter, cron)
        candidates.append(_on_wall(wall, post.tzinfo, fold=0))
        current_post = _on_wall(wall, post.tzinfo, fold=1)
        candidates.append(current_post)
    return sorted(candidates, key=lambda d: d.timestamp())


def _has_nonzero_minute_offset(timezone: str) -> bool:
    offset = datetime.now(_zone(timezone)).utcoffset()
    return offset is not None and offset.total_seconds() % 3600 != 0


def schedule_ticks(start_timestamp: float, cron: str, timezone: str) -> Iterator[datetime]:
    """Dagster's `schedule_execution_time_iterator(start, cron, timezone)`: the ticks from `start` on."""
    if not is_valid_cron_string(cron):
        raise ValueError(f"{cron} must be a valid cron schedule")
    if cron.endswith(" 29 2 *"):
        # The 29th of February: the 28th's ticks, in leap years only, a day later.
        minute_hour, _ = cron.split(" 29 2 *")
        for tick in schedule_ticks(start_timestamp, f"{minute_hour} 28 2 *", timezone):
            if calendar.isleap(tick.year):
                yield tick + timedelta(days=1)
        return
    parts, nth_weekday = _expand(cron)
    numeric = [len(part) == 1 and isinstance(part[0], int) for part in parts]
    wildcard = [len(part) == 1 and part[0] == "*" for part in parts]
    numeric_minutes = len(parts[0]) > 0 and all(p != "*" for p in parts[0])
    numeric_weekdays = len(parts[4]) > 0 and all(isinstance(p, int) for p in parts[4])
    kind: _Kind | None = None
    if not nth_weekday:
        if all(numeric[0:3]) and all(wildcard[3:]) and parts[2][0] <= _MAX_DAY_WITH_MONTHLY_INTERVAL:
            kind = _Kind.MONTHLY
        elif all(numeric[0:2]) and numeric[4] and all(wildcard[2:4]):
            kind = _Kind.WEEKLY
        elif all(numeric[0:2]) and all(wildcard[2:4]) and (wildcard[4] or numeric_weekdays):
            kind = _Kind.DAILY
        elif numeric_minutes and all(wildcard[1:]):
            kind = _Kind.HOURLY
    if kind is None:
        if _days_of_month_unreachable(parts):
            raise CroniterBadDateError("failed to find next date")
        yield from _croniter_path(start_timestamp, cron, timezone)
        return
    minutes: list[int] = list(parts[0]) if numeric_minutes else []
    hour: int = parts[1][0] if numeric[1] else 0
    day: int = parts[2][0] if numeric[2] else 0
    weekdays: list[int] | None = list(parts[4]) if numeric_weekdays else None
    zone_minutes = kind == _Kind.HOURLY and _has_nonzero_minute_offset(timezone)
    start = datetime.fromtimestamp(start_timestamp, tz=_zone(timezone))

    def step(date: datetime, on_boundary: bool, ascending: bool = True) -> datetime:
        if kind == _Kind.HOURLY:
            return _hourly(minutes, date, ascending, on_boundary, zone_minutes)
        if kind == _Kind.DAILY:
            return _daily(minutes[0], hour, weekdays, date, ascending, on_boundary)
        if kind == _Kind.WEEKLY:
            return _weekly(minutes[0], hour, parts[4][0], date, ascending, on_boundary)
        return _monthly(minutes[0], hour, day, date, ascending, on_boundary)

    if _is_simple_cron(cron, start):
        date = start
        yield start
    else:
        date = step(start, on_boundary=False, ascending=False)
    while True:
        date = step(date, on_boundary=True)
        _check_not_before(date, start_timestamp, cron)
        yield date


def _days_of_month_unreachable(parts: list[list[Any]]) -> bool:
    """Dagster's vendored croniter finds no date when no listed day of the month occurs in any listed
    month, even where a listed weekday would match (`* * 31 4 0`); croniter 7 runs on the weekdays.
    Dagster's scheduler fails such a schedule, so this port fails it too. (Every month: some has 31
    days. `*` and `L` are not numbers, so they are never out of reach.)"""
    days, months = parts[2], parts[3]
    if months == ["*"]:
        return False
    longest = max(calendar.monthrange(2024, m)[1] for m in months)  # a leap year: February has 29
    return all(isinstance(d, int) and d > longest for d in days)


def _is_simple_cron(cron: str, date: datetime) -> bool:
    if cron == "0 0 * * *":
        return date.hour == date.minute == date.second == date.microsecond == 0
    if cron == "0 * * * *":
        return date.minute == date.second == date.microsecond == 0
    return False
