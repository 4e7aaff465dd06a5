"""Running a sync in this process, against the Dagster instance under DAGSTER_HOME (no webserver needed)."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG
from accsync_pipeline.service.launch import ACTIVE_STATUSES, SyncAlreadyRunning, SyncRequest


def active_run_id(instance: dg.DagsterInstance, org_id: str) -> str | None:
    statuses = [dg.DagsterRunStatus(s) for s in ACTIVE_STATUSES]
    for key in (ORG_TAG, PARTITION_TAG):
        runs = instance.get_runs(RunsFilter(tags={key: org_id}, statuses=statuses), limit=1)
        if runs:
            return runs[0].run_id
    return None


def ensure_partition(instance: dg.DagsterInstance, org_id: str) -> None:
    name = organization_partitions.name or "organization"
    if not instance.has_dynamic_partition(name, org_id):
        instance.add_dynamic_partitions(name, [org_id])


def run_sync(instance: dg.DagsterInstance, request: SyncRequest) -> tuple[str, bool]:
    """Execute the sync job for the org now, in this process. Returns (run id, success)."""
    active = active_run_id(instance, request.org_id)
    if active:
        raise SyncAlreadyRunning(request.org_id, active)
    ensure_partition(instance, request.org_id)
    from accsync_pipeline.definitions import defs  # the code location reads the database when loaded

    job = defs.resolve_job_def(SYNC_JOB_NAME)
    result = job.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        partition_key=request.org_id,
        # execute_in_process sets the partition tag itself from partition_key.
        tags={k: v for k, v in request.tags.items() if k != PARTITION_TAG},
        raise_on_error=False,
    )
    return result.run_id, result.success
