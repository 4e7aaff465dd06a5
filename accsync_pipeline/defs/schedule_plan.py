"""Which organization runs on which Dagster schedule: one schedule per (cron, timezone), pure logic.

A schedule is named from its cron in words, so that an ops engineer reading the Dagster UI
knows when it runs; a tick's plan is read from the orgs' configuration at that moment.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.schedule import ScheduleView, Weekday, view_schedule

ScheduleKey = tuple[str, str]  # (cron in normal form, IANA timezone)

_DAILY = re.compile(r"^(\d+) (\d+) \* \* \*$")
_WEEKLY = re.compile(r"^(\d+) (\d+) \* \* ([0-6])$")
_MONTHLY = re.compile(r"^(\d+) (\d+) (\d+|L) \* \*$")
# Every character a cron in normal form may hold, as letters a Dagster name accepts; each maps
# to its own word, so two crons never share a name.
_CRON_WORDS = {" ": "_", "*": "x", ",": "and", "-": "to", "/": "every", "#": "nth", "L": "last"}
_WEEKDAY_BY_CRON = {day.cron_number: day.value[:3] for day in Weekday}


def _timezone_words(timezone: str) -> str:
    words = timezone.lower().replace("+", "_plus_").replace("-", "_minus_")
    return re.sub(r"[^a-z0-9]+", "_", words).strip("_")


def schedule_name(cron: str, timezone: str) -> str:
    """A name an ops engineer reads in the Dagster UI: sync_daily_0200_europe_oslo, sync_weekly_fri_1600_…"""
    if match := _DAILY.match(cron):
        minute, hour = match.groups()
        when = f"daily_{int(hour):02}{int(minute):02}"
    elif match := _WEEKLY.match(cron):
        minute, hour, weekday = match.groups()
        when = f"weekly_{_WEEKDAY_BY_CRON[int(weekday)]}_{int(hour):02}{int(minute):02}"
    elif match := _MONTHLY.match(cron):
        minute, hour, day = match.groups()
        on = "lastday" if day == "L" else f"day{int(day):02}"
        when = f"monthly_{on}_{int(hour):02}{int(minute):02}"
    else:
        when = "cron_" + "".join(_CRON_WORDS.get(c, c) for c in cron)
    return f"sync_{when}_{_timezone_words(timezone)}"


def org_schedule_view(org: OrgConfig) -> ScheduleView:
    """The org's schedule as Dagster would run it; no cron when manual only, invalid, or in a bad timezone."""
    return view_schedule(org.schedule, org.timezone, datetime.now(UTC), 0)


def schedule_key(org: OrgConfig) -> ScheduleKey | None:
    """The (cron, timezone) whose schedule runs the org, or None when no schedule should."""
    cron = org_schedule_view(org).cron if org.enabled else None
    return None if cron is None else (cron, org.timezone)


def _not_running_reason(org: OrgConfig, view: ScheduleView) -> str:
    """Why an org that has no schedule key is not run by any schedule."""
    if not org.enabled:
        return f"{org.org_id}'s integration is disabled"
    if view.problem is not None:
        return f"{org.org_id}'s stored schedule is invalid: {view.problem}"
    return f"{org.org_id} is set to Manual only"


@dataclass(frozen=True)
class TickPlan:
    """What one tick of one (cron, timezone) schedule does: the orgs it launches, and the others in words."""

    due: tuple[str, ...]
    skipped: tuple[str, ...]


def plan_tick(orgs: Sequence[OrgConfig], key: ScheduleKey, served_at_load: Collection[str]) -> TickPlan:
    """The orgs due at this tick, from their configuration now.

    Skipped are the orgs this schedule served when the location loaded but no longer runs
    (they moved, were disabled, set to Manual, or deleted), and every org whose stored
    schedule cannot run at all: it belongs to no schedule, so each tick names it.
    """
    due: list[str] = []
    skipped: list[str] = []
    present = set()
    for org in orgs:
        present.add(org.org_id)
        view = org_schedule_view(org)
        own = None if view.cron is None or not org.enabled else (view.cron, org.timezone)
        if own == key:
            due.append(org.org_id)
        elif own is not None:
            if org.org_id in served_at_load:
                skipped.append(f"{org.org_id} now runs on {schedule_name(*own)}")
        elif org.org_id in served_at_load or (org.enabled and view.problem is not None):
            skipped.append(_not_running_reason(org, view))
    skipped += [f"organization {o} no longer exists" for o in sorted(set(served_at_load) - present)]
    return TickPlan(tuple(due), tuple(skipped))


def desired_schedules(orgs: Sequence[OrgConfig]) -> dict[ScheduleKey, tuple[str, ...]]:
    """(cron, timezone) → the orgs on it, for every schedule Dagster should have now."""
    wanted: dict[ScheduleKey, list[str]] = {}
    for org in orgs:
        key = schedule_key(org)
        if key is not None:
            wanted.setdefault(key, []).append(org.org_id)
    return {key: tuple(org_ids) for key, org_ids in sorted(wanted.items())}


def schedule_drift(built: Collection[ScheduleKey], wanted: Mapping[ScheduleKey, Sequence[str]]) -> list[str]:
    """Schedules Dagster lacks or has in excess, in words; empty when the set agrees with the database.

    An org moved between two crons that both have a schedule is no drift: ticks read the orgs.
    """
    drift = []
    for key in sorted(set(built) | wanted.keys()):
        name = schedule_name(*key)
        if key not in wanted:
            drift.append(f"{name}: no organization uses '{key[0]}' ({key[1]}) any more")
        elif key not in built:
            orgs = ", ".join(wanted[key])
            drift.append(f"{name}: Dagster has no schedule for '{key[0]}' ({key[1]}), used by {orgs}")
    return drift
