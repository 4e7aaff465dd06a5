"""An organization's health at a glance: green, amber or red, and the reason in one sentence.

green: the last sync completed with no failed records, and none waits for attention.
amber: the last sync failed or had failed records, or failed records remain unresolved
       (also after a later sync that had nothing to send).
red:   no successful sync within 24 hours although one was expected: a scheduled run fell
       due since the last success (or since set-up), or records are pending and the org has
       been set up for more than 24 hours. A new org is given its first 24 hours for pending
       records, so that one created a minute ago is not red. Red wins over amber.

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
    # Why a failed run stopped, in words.
    error: str | None = None


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
    # Failed records not put right yet, whichever run failed them.
    unresolved_failed: int = 0


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
    # Pending records expect a sync once the org has had 24 hours to make one.
    waited_since = facts.last_success_at or facts.watched_since
    pending = facts.pending if facts.now - waited_since > STALE_AFTER else 0
    if due is None and pending == 0:
        return None
    missing = (
        "No successful sync yet"
        if facts.last_success_at is None
        else "No successful sync in the last 24 hours"
    )
    because = []
    if due is not None:
        because.append("a scheduled sync was due")
    if pending:
        because.append(f"{_records(pending)} {'is' if pending == 1 else 'are'} pending")
    return f"{missing}, although {' and '.join(because)}."


def _unresolved(count: int) -> str:
    verb = "is" if count == 1 else "are"
    return f"{_records(count)} failed and {verb} not resolved yet; retry once the cause is fixed."


def _amber_reason(facts: HealthFacts) -> str | None:
    last = facts.last_sync
    if last is not None and not last.succeeded:
        cause = f": {last.error.rstrip('.')}." if last.error else "."
        reason = f"The last sync failed{cause} Records it did not post will be sent by the next sync."
        if facts.unresolved_failed:
            reason += f" {_unresolved(facts.unresolved_failed)}"
        return reason
    if last is not None and last.failed_records:
        reason = f"The last sync had {_records(last.failed_records)} failed."
        if facts.unresolved_failed and facts.unresolved_failed != last.failed_records:
            reason += f" {_unresolved(facts.unresolved_failed)}"
        return reason
    if facts.unresolved_failed:
        return _unresolved(facts.unresolved_failed)
    return None


def assess_health(facts: HealthFacts) -> Health:
    """The org's health level and why, from the facts at `facts.now`."""
    red = _red_reason(facts)
    if red is not None:
        last = facts.last_sync
        if last is not None and not last.succeeded and last.error:
            red += f" The last sync failed: {last.error.rstrip('.')}."
        return Health(HealthLevel.RED, red)
    amber = _amber_reason(facts)
    if amber is not None:
        return Health(HealthLevel.AMBER, amber)
    last = facts.last_sync
    if last is None and not facts.enabled:
        return Health(HealthLevel.GREEN, "The integration is disabled, so no sync is expected.")
    if last is None and facts.pending:
        waiting = f"{_records(facts.pending)} {'is' if facts.pending == 1 else 'are'} waiting for it"
        return Health(HealthLevel.GREEN, f"No sync has run yet; {waiting}.")
    if last is None:
        return Health(HealthLevel.GREEN, "No sync has run yet, and none is due.")
    note = " The integration is disabled." if not facts.enabled else ""
    return Health(HealthLevel.GREEN, f"The last sync completed with no failed records.{note}")
