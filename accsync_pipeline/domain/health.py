"""An organization's health at a glance: green, amber or red, and the reason in one sentence.

green: the last sync completed with no failed records.
amber: the last sync had failed records (or the run itself failed).
red:   no successful sync within 24 hours although one was expected: a scheduled run fell
       due since the last success, or records are pending. Red wins over amber.

A disabled integration is never expected to sync, so it is never red for that. The clock and
every fact are parameters; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from accsync_pipeline.domain.cron import next_runs

STALE_AFTER = timedelta(hours=24)


class HealthLevel(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class Health:
    level: HealthLevel
    reason: str


@dataclass(frozen=True)
class LastSync:
    """The latest sync run that ended, whatever its outcome."""

    finished_at: datetime
    succeeded: bool
    failed_records: int


@dataclass(frozen=True)
class HealthFacts:
    now: datetime
    enabled: bool
    last_sync: LastSync | None
    last_success_at: datetime | None
    pending: int
    # The org's schedule as a cron expression in `timezone`; None for a manual schedule.
    cron: str | None
    timezone: str
    # Where to look for a due scheduled run when the org never synced: when it was set up.
    watched_since: datetime


def _records(count: int) -> str:
    return f"{count} record{'' if count == 1 else 's'}"


def _due_run(facts: HealthFacts) -> datetime | None:
    """The first scheduled run since the last success (or since set-up) that is already past."""
    if facts.cron is None:
        return None
    since = facts.last_success_at or facts.watched_since
    upcoming = next_runs(facts.cron, facts.timezone, since, 1)
    return upcoming[0] if upcoming and upcoming[0] <= facts.now else None


def _red_reason(facts: HealthFacts) -> str | None:
    if not facts.enabled:
        return None
    if facts.last_success_at is not None and facts.now - facts.last_success_at <= STALE_AFTER:
        return None
    due = _due_run(facts)
    if due is None and facts.pending == 0:
        return None
    missing = (
        "No successful sync yet"
        if facts.last_success_at is None
        else "No successful sync in the last 24 hours"
    )
    because = []
    if due is not None:
        because.append("a scheduled sync was due")
    if facts.pending:
        because.append(f"{_records(facts.pending)} {'is' if facts.pending == 1 else 'are'} pending")
    return f"{missing}, although {' and '.join(because)}."


def assess_health(facts: HealthFacts) -> Health:
    """The org's health level and why, from the facts at `facts.now`."""
    red = _red_reason(facts)
    if red is not None:
        return Health(HealthLevel.RED, red)
    last = facts.last_sync
    if last is None and not facts.enabled:
        return Health(HealthLevel.GREEN, "The integration is disabled, so no sync is expected.")
    if last is None:
        return Health(HealthLevel.GREEN, "No sync has run yet, and none is due.")
    if not last.succeeded:
        return Health(HealthLevel.AMBER, "The last sync did not complete; its records will be sent again.")
    if last.failed_records:
        return Health(HealthLevel.AMBER, f"The last sync had {_records(last.failed_records)} failed.")
    note = " The integration is disabled." if not facts.enabled else ""
    return Health(HealthLevel.GREEN, f"The last sync completed with no failed records.{note}")
