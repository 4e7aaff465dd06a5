"""Running a sync in this process, against the Dagster instance under DAGSTER_HOME (no webserver needed).

The org is claimed first (`sync_claim`), with the run id chosen here, so a second launch is
refused at once. If this process is killed, its run's heartbeat stops: the liveness sweep
(the sensor, or the next in-process launch for the org, which sweeps before it claims) ends
the run in Dagster, closes its sync-log row and frees the org.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.utils import make_new_run_id
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import run_definitions
from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.domain.run_tags import PARTITION_TAG
from accsync_pipeline.service import liveness
from accsync_pipeline.service.dagster_runs import InstanceRuns, ensure_partition
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.sync_claim import launch_exclusive
from accsync_pipeline.store.engine import create_engine


class InProcessLauncher(InstanceRuns):
    """`SyncLauncher` that executes the sync job here: `launch_sync` returns when the run has ended."""

    def __init__(self, instance: dg.DagsterInstance, engine: Engine | None = None) -> None:
        super().__init__(instance)
        self._engine = engine
        self._own_engine = engine is None

    @property
    def engine(self) -> Engine:
        # Made on first launch: a web request that only reads run status needs none.
        if self._engine is None:
            self._engine = create_engine()
        return self._engine

    def reserve_run_id(self, org_id: str) -> str:
        # A run of this org whose process died still looks alive in Dagster: end it first.
        liveness.sweep(self.engine, self._instance, org_id=org_id)
        return make_new_run_id()

    def launch_sync(self, request: SyncRequest, run_id: str | None = None) -> str:
        ensure_partition(self._instance, request.org_id)
        job = run_definitions().resolve_job_def(SYNC_JOB_NAME)
        result = job.execute_in_process(
            run_config=request.run_config,
            instance=self._instance,
            partition_key=request.org_id,
            run_id=run_id or make_new_run_id(),
            # execute_in_process sets the partition tag itself from partition_key.
            tags={k: v for k, v in request.tags.items() if k != PARTITION_TAG},
            raise_on_error=False,
        )
        return result.run_id

    def succeeded(self, run_id: str) -> bool:
        info = self.run_info(run_id)
        return info is not None and info.status == dg.DagsterRunStatus.SUCCESS.value

    def close(self) -> None:
        if self._own_engine and self._engine is not None:
            self._engine.dispose()
            self._engine = None


def run_sync(
    instance: dg.DagsterInstance, request: SyncRequest, engine: Engine | None = None
) -> tuple[str, bool]:
    """Execute the sync job for the org now, in this process. Returns (run id, success)."""
    launcher = InProcessLauncher(instance, engine)
    try:
        run_id = launch_exclusive(launcher.engine, launcher, request)
        return run_id, launcher.succeeded(run_id)
    finally:
        launcher.close()
