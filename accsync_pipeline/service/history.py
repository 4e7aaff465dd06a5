"""The sync log: an org's runs from Dagster's run storage, with the counts their materializations carry.

A run that failed materialized nothing, yet it may have posted records before it stopped:
its counts, its cause in words and the records it failed come from accsync's own tables.
`org_sync_log` lists the same runs from accsync's `sync_runs` alone (the command line): it
needs no Dagster, but knows only runs that began exporting (not queued or refused ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.run_tags import ORG_TAG, TRIGGER_TAG, USER_TAG
from accsync_pipeline.store import runs as run_store

if TYPE_CHECKING:
    import dagster as dg

# sync_runs.status as Dagster names the run's status.
LOG_STATUSES = {"started": "STARTED", "success": "SUCCESS", "failure": "FAILURE"}


@dataclass
class RunHistoryEntry:
    run_id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    trigger: str | None
    user_id: str | None
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_records: list[dict[str, Any]] = field(default_factory=list)
    failed_records: list[dict[str, Any]] = field(default_factory=list)
    # Records the run took (0 when unknown), and why it failed, in words.
    total: int = 0
    error: str | None = None
    # The run's tags as Dagster keeps them: what started it (`domain.run_starter`).
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """The run's result as the sync log says it: what it did, and why it stopped if it failed."""
        return outcome_text(self.status, self.exported, self.total, self.error)


_PLAIN_OUTCOMES = {
    "SUCCESS": "Completed",
    "CANCELED": "Cancelled",
    "CANCELING": "Being cancelled",
    "STARTED": "Running",
    "QUEUED": "Waiting to start",
    "NOT_STARTED": "Waiting to start",
    "STARTING": "Starting",
}


def outcome_text(status: str, exported: int, total: int, error: str | None) -> str:
    """'Completed', or for a failed run what it posted before it stopped and why."""
    if status != "FAILURE":
        return _PLAIN_OUTCOMES.get(status, status.replace("_", " ").capitalize())
    if exported:
        of = f" of {total}" if total >= exported else ""
        done = f"Failed after exporting {exported}{of}"
    else:
        done = "Failed before exporting any record"
    return f"{done}: {error}" if error else done


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _rows(value: Any) -> list[dict[str, Any]]:
    records = getattr(value, "records", None) or []
    return [dict(r.data) for r in records]


def org_history(
    instance: dg.DagsterInstance, org_id: str, limit: int = 50, engine: Engine | None = None
) -> list[RunHistoryEntry]:
    """Newest first. Counts are summed over the run's export assets (one per record type).

    With `engine`, runs that did not complete take their counts, cause and failed records from
    accsync's summary of the run (a failed run materializes nothing).
    """
    import dagster as dg
    from dagster._core.storage.dagster_run import RunsFilter

    entries = []
    for record in instance.get_run_records(RunsFilter(tags={ORG_TAG: org_id}), limit=limit):
        run = record.dagster_run
        entry = RunHistoryEntry(
            run_id=run.run_id,
            status=run.status.value,
            created_at=record.create_timestamp.astimezone(UTC),
            started_at=_time(record.start_time),
            ended_at=_time(record.end_time),
            trigger=run.tags.get(TRIGGER_TAG),
            user_id=run.tags.get(USER_TAG),
            tags=dict(run.tags),
        )
        events = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100
        ).records
        for event in events:
            materialization = event.event_log_entry.asset_materialization
            if materialization is None:
                continue
            metadata = materialization.metadata
            entry.exported += int(getattr(metadata.get("exported"), "value", 0) or 0)
            entry.skipped += int(getattr(metadata.get("skipped"), "value", 0) or 0)
            entry.failed += int(getattr(metadata.get("failed"), "value", 0) or 0)
            entry.skipped_records += _rows(metadata.get("skipped_records"))
            entry.failed_records += _rows(metadata.get("failed_records"))
        entries.append(entry)
    if engine is not None:
        with engine.connect() as conn:
            add_run_summaries(conn, entries)
    return entries


def org_sync_log(conn: sa.Connection, org_id: str, limit: int = 50) -> list[RunHistoryEntry]:
    """Newest first, from accsync's own sync log: trigger, user, counts, cause and failed records.

    The same entries as `org_history` for every run that began exporting, without Dagster's
    run storage (and so without importing Dagster): what the command line lists.
    """
    entries = [
        RunHistoryEntry(
            run_id=run.run_id,
            status=LOG_STATUSES.get(run.status, run.status.upper()),
            created_at=run.started_at,
            started_at=run.started_at,
            ended_at=run.finished_at,
            trigger=run.trigger,
            user_id=run.user_id,
            exported=run.exported,
            skipped=run.skipped,
            failed=run.failed,
            total=run.total,
            error=run.error,
        )
        for run in run_store.org_runs(conn, org_id, limit)
    ]
    failed = run_store.failed_attempts_of_runs(conn, [e.run_id for e in entries if e.failed])
    for entry in entries:
        entry.failed_records = [{"record_id": r, "error": e} for r, e in failed.get(entry.run_id, [])]
    return entries


def add_run_summaries(conn: sa.Connection, entries: list[RunHistoryEntry]) -> None:
    """Add what Dagster's run storage lacks: counts of runs that did not complete, causes, failed records."""
    ids = [e.run_id for e in entries]
    summaries = run_store.find_runs(conn, ids)
    unfinished = [e.run_id for e in entries if e.status != "SUCCESS"]
    failed = run_store.failed_attempts_of_runs(conn, unfinished)
    for entry in entries:
        summary = summaries.get(entry.run_id)
        if summary is None:
            continue
        entry.total = summary.total
        entry.error = summary.error
        if entry.status == "SUCCESS":
            continue
        entry.exported = max(entry.exported, summary.exported)
        entry.skipped = max(entry.skipped, summary.skipped)
        entry.failed = max(entry.failed, summary.failed)
        if not entry.failed_records:
            entry.failed_records = [{"record_id": r, "error": e} for r, e in failed.get(entry.run_id, [])]
