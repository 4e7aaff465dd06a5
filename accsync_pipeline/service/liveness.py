"""A sync run's sign of life, and ending the runs that died so that their org can sync again.

The run's process beats (`heartbeat.Heartbeat`) into its sync-log row every few seconds. `sweep` — run
by the liveness sensor every 15 s, and by the CLI before an in-process sync — ends every sync
run whose process is gone or silent beyond the bound: marked failed in Dagster (which frees
Dagster's per-org concurrency slot), its sync-log row closed with its counts kept, and the
org's claim released. Records the dead run left in flight are resolved by lookup on the next
sync, as after any crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME
from dagster._core.storage.dagster_run import RunsFilter
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.domain.liveness import (
    ROW_STATUS_OF,
    RunView,
    Verdict,
    explain,
    judge,
    stale_after,
)
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG
from accsync_pipeline.service.dagster_runs import InstanceRuns
from accsync_pipeline.service.heartbeat import process_alive
from accsync_pipeline.service.sync_claim import claim_is_over
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.runs import SyncRun

SYNC_JOBS = frozenset({SYNC_JOB_NAME, IMPLICIT_ASSET_JOB_NAME})
WATCHED_STATUSES = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class EndedRun:
    run_id: str
    org_id: str | None
    verdict: Verdict
    reason: str


def _last_sign(row: SyncRun | None, dagster_start: float | None) -> datetime:
    signs = [datetime.fromtimestamp(dagster_start, UTC)] if dagster_start else []
    if row is not None:
        signs += [t for t in (row.heartbeat_at, row.finished_at, row.started_at) if t is not None]
    return max(signs) if signs else datetime.now(UTC)


def _end_in_dagster(instance: dg.DagsterInstance, run_id: str, reason: str) -> None:
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return
    if run.status == dg.DagsterRunStatus.CANCELING:
        instance.report_run_canceled(run, message=f"accsync liveness: {reason}")
    else:
        instance.report_run_failed(run, message=f"accsync liveness: {reason}")


def sweep(
    engine: Engine,
    instance: dg.DagsterInstance,
    now: datetime | None = None,
    bound: timedelta | None = None,
    org_id: str | None = None,
) -> list[EndedRun]:
    """End the dead sync runs (of one org, or all) and free their orgs; returns what it ended."""
    now = now or datetime.now(UTC)
    bound = bound or stale_after()
    with engine.connect() as conn:
        rows = {r.run_id: r for r in run_store.open_runs(conn) if org_id is None or r.org_id == org_id}
    filters = RunsFilter(statuses=WATCHED_STATUSES, tags={ORG_TAG: org_id} if org_id else {})
    dagster_runs = {
        r.dagster_run.run_id: r
        for r in instance.get_run_records(filters)
        if r.dagster_run.job_name in SYNC_JOBS
    }
    if org_id is not None:  # runs from the Dagster UI carry only the partition tag
        by_partition = RunsFilter(statuses=WATCHED_STATUSES, tags={PARTITION_TAG: org_id})
        dagster_runs.update({r.dagster_run.run_id: r for r in instance.get_run_records(by_partition)})
    ended: list[EndedRun] = []
    for run_id in sorted(set(rows) | set(dagster_runs)):
        record = dagster_runs.get(run_id)
        dagster_run = record.dagster_run if record else instance.get_run_by_id(run_id)
        status = dagster_run.status.value if dagster_run else None
        row = rows.get(run_id)
        if row is None and record is not None:
            with engine.connect() as conn:
                row = run_store.find_run(conn, run_id)  # closed rows still carry the last heartbeat
        view = RunView(
            dagster_status=status,
            row_open=run_id in rows,
            last_sign=_last_sign(row, record.start_time if record else None),
            worker_alive=process_alive(row.worker_host, row.worker_pid) if row else None,
        )
        verdict = judge(view, now, bound)
        if verdict in (Verdict.ALIVE, Verdict.FINE):
            continue
        reason = explain(verdict, bound, status)
        row_status = ROW_STATUS_OF.get(status or "", "failure") if verdict is Verdict.ENDED else "failure"
        # The row first: the failure sensor then reads this reason as the run's cause.
        with engine.begin() as conn:
            run_store.close_if_open(conn, run_id, row_status, now, reason)
        if verdict is not Verdict.ENDED:
            _end_in_dagster(instance, run_id, reason)
        owner = row.org_id if row else (dagster_run.tags.get(ORG_TAG) if dagster_run else None)
        ended.append(
            EndedRun(
                run_id,
                owner or (dagster_run.tags.get(PARTITION_TAG) if dagster_run else None),
                verdict,
                reason,
            )
        )
    _release_over_claims(engine, instance, now, org_id)
    return ended


def _release_over_claims(
    engine: Engine, instance: dg.DagsterInstance, now: datetime, org_id: str | None
) -> None:
    """Claims whose run ended without closing a row (canceled while queued, never launched)."""
    runs = InstanceRuns(instance)
    with engine.connect() as conn:
        held = [c for c in claim_store.all_claims(conn) if org_id is None or c.org_id == org_id]
    for claim in held:
        if claim_is_over(claim, runs, now):
            with engine.begin() as conn:
                claim_store.release(conn, claim.org_id, claim.claim_token)
