"""Sync Now: what a sync would send, launching it through Dagster, and following its progress.

The launch goes through the `SyncLauncher` that `dagster_gateway.sync_launcher` chose (the
web layer gets one per request, tests may give a fake), after `sync_claim` claimed the org.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.service.dagster_gateway import GraphQLLauncher
from accsync_pipeline.service.errors import Conflict
from accsync_pipeline.service.launch import DagsterRunInfo, DagsterUnavailable, SyncLauncher, SyncRequest
from accsync_pipeline.service.sync_claim import launch_exclusive
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.queue import next_sync_by_type

# accsync's own run summary, for when Dagster cannot be asked.
_SUMMARY_STATUS = {"started": "STARTED", "success": "SUCCESS", "failure": "FAILURE"}

__all__ = [
    "DagsterRunInfo",
    "GraphQLLauncher",
    "SyncDisabled",
    "SyncLauncher",
    "preview",
    "run_progress",
    "start_sync",
]


class SyncDisabled(Conflict):
    def __init__(self, org_id: str) -> None:
        super().__init__(
            f"the integration of {org_id} is disabled, so it cannot be synced; "
            "enable it in its integration settings first"
        )


@dataclass(frozen=True)
class SyncPreview:
    org_id: str
    enabled: bool
    total: int
    by_type: dict[str, int]


def preview(conn: sa.Connection, org: OrgConfig, now: datetime) -> SyncPreview:
    """Records per included type that a sync started now would send; writes nothing."""
    counts = next_sync_by_type(conn, org.org_id, now, org.record_types)
    by_type = {t: counts.get(t, 0) for t in org.record_types}
    return SyncPreview(org.org_id, org.enabled, sum(by_type.values()), by_type)


def start_sync(engine: Engine, launcher: SyncLauncher, org: OrgConfig, user_id: str) -> str:
    """Launch a manual sync of the org; SyncDisabled, SyncAlreadyRunning or DagsterUnavailable."""
    if not org.enabled:
        raise SyncDisabled(org.org_id)
    return launch_exclusive(engine, launcher, SyncRequest(org.org_id, Trigger.MANUAL.value, user_id))


@dataclass(frozen=True)
class RunProgress:
    run_id: str
    org_id: str
    status: str  # Dagster's run status: QUEUED, STARTED, SUCCESS, FAILURE, CANCELED, ...
    done: int
    total: int
    exported: int
    skipped: int
    failed: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def run_progress(conn: sa.Connection, launcher: SyncLauncher, org_id: str, run_id: str) -> RunProgress | None:
    """Counts from accsync's run summary, outcome from Dagster; None unless the run is the org's."""
    summary = run_store.find_run(conn, run_id)
    try:
        info = launcher.run_info(run_id)
    except DagsterUnavailable:
        info = None
    owner = summary.org_id if summary is not None else (info.org_id if info is not None else None)
    if owner != org_id:
        return None
    if info is not None:
        status = info.status
    else:
        assert summary is not None  # owner came from it
        status = _SUMMARY_STATUS.get(summary.status, summary.status.upper())
    if summary is None:
        return RunProgress(run_id, org_id, status, 0, 0, 0, 0, 0, None, None, None)
    return RunProgress(
        run_id,
        org_id,
        status,
        summary.done,
        summary.total,
        summary.exported,
        summary.skipped,
        summary.failed,
        summary.started_at,
        summary.finished_at,
        summary.error,
    )
