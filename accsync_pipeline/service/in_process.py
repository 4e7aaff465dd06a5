"""Running a sync in this process, against the Dagster instance under DAGSTER_HOME (no webserver needed).

The org is claimed first (`sync_claim`), with the run id chosen here, so a second launch is
refused at once. If this process is killed, its run's heartbeat stops: the liveness sweep
(the sensor, or the next `accsync sync` of the org, which sweeps before it claims) ends the
run in Dagster, closes its sync-log row and frees the org.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.utils import make_new_run_id
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.domain.run_tags import PARTITION_TAG
from accsync_pipeline.service import liveness
from accsync_pipeline.service.dagster_runs import InstanceRuns, active_run_id, ensure_partition
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.sync_claim import claim_org, release
from accsync_pipeline.store.engine import create_engine

__all__ = ["active_run_id", "ensure_partition", "run_sync"]


def run_sync(
    instance: dg.DagsterInstance, request: SyncRequest, engine: Engine | None = None
) -> tuple[str, bool]:
    """Execute the sync job for the org now, in this process. Returns (run id, success)."""
    own_engine = engine is None
    engine = engine or create_engine()
    try:
        liveness.sweep(engine, instance, org_id=request.org_id)
        run_id = make_new_run_id()
        token = claim_org(engine, InstanceRuns(instance), request.org_id, run_id)
        try:
            ensure_partition(instance, request.org_id)
            from accsync_pipeline.definitions import defs  # the code location reads the database when loaded

            job = defs.resolve_job_def(SYNC_JOB_NAME)
            result = job.execute_in_process(
                run_config=request.run_config,
                instance=instance,
                partition_key=request.org_id,
                run_id=run_id,
                # execute_in_process sets the partition tag itself from partition_key.
                tags={k: v for k, v in request.tags.items() if k != PARTITION_TAG},
                raise_on_error=False,
            )
        finally:
            # Closing the run's row released the claim already; a run that never got so far did not.
            release(engine, request.org_id, token)
        return result.run_id, result.success
    finally:
        if own_engine:
            engine.dispose()
