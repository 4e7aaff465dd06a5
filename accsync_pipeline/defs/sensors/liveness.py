"""Ends sync runs whose process died, so that no organization stays locked by a dead run."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.liveness import stale_after
from accsync_pipeline.service.liveness import sweep


@dg.sensor(
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 15 s: a sync run whose process is gone (same host) or gave no heartbeat within "
        "ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS (90 s by default) is marked failed in Dagster, its "
        "sync-log row is closed with its counts kept, and its org is free for the next sync. Also "
        "closes the rows of runs Dagster ended (canceled, failed outside the op) and releases "
        "Sync Now claims whose run is over. Dagster's run monitoring covers runs stuck starting."
    ),
)
def run_liveness_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SkipReason:
    """Dagster's default run launcher cannot check a run worker's health; accsync's heartbeat can."""
    ended = sweep(accsync_db.engine, context.instance)
    for run in ended:
        context.log.warning(f"ended run {run.run_id} of {run.org_id or 'an unknown org'}: {run.reason}")
    if not ended:
        return dg.SkipReason(f"every sync run is alive (bound {int(stale_after().total_seconds())} s)")
    return dg.SkipReason(f"ended {len(ended)} dead run(s): {', '.join(r.run_id for r in ended)}")
