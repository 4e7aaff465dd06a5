"""The sync log: an org's runs from Dagster's run storage, with the counts their materializations carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.domain.run_tags import ORG_TAG, TRIGGER_TAG, USER_TAG


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


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _rows(value: Any) -> list[dict[str, Any]]:
    records = getattr(value, "records", None) or []
    return [dict(r.data) for r in records]


def org_history(instance: dg.DagsterInstance, org_id: str, limit: int = 50) -> list[RunHistoryEntry]:
    """Newest first. Counts are summed over the run's export assets (one per record type)."""
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
    return entries


def failed_runs_since_success(instance: dg.DagsterInstance, since: dict[str, datetime]) -> dict[str, int]:
    """Per org, sync runs that failed after `since[org]` and after the org's last successful run.

    A failed run that a later run put right no longer counts, so the alert it raised can clear.
    """
    if not since:
        return {}
    earliest = min(since.values())
    statuses = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
    records = instance.get_run_records(
        RunsFilter(job_name="sync_job", statuses=statuses, created_after=earliest), limit=5000
    )
    failures: dict[str, int] = {}
    succeeded: set[str] = set()
    for record in records:  # newest first
        org_id = record.dagster_run.tags.get(ORG_TAG)
        if org_id not in since or org_id in succeeded:
            continue
        if record.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
            succeeded.add(org_id)
        elif record.create_timestamp > since[org_id]:
            failures[org_id] = failures.get(org_id, 0) + 1
    return failures
