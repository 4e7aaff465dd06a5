"""Closes accsync's summary of a sync run when Dagster ends it, and tells the org admins of failures."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.run_tags import ORG_TAG
from accsync_pipeline.service.alerting import notify_run_failed
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import runs as run_store


@dg.run_failure_sensor(
    monitored_jobs=[sync_job], default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=5
)
def sync_run_failure_sensor(context: dg.RunFailureSensorContext, accsync_db: AccsyncDatabase) -> None:
    """A run fails only once its retries are spent, so every failure here is final: notify once per run."""
    run = context.dagster_run
    org_id = run.tags.get(ORG_TAG) or run.tags.get("dagster/partition")
    if not org_id:
        return
    error = context.failure_event.message or "the run failed"
    if context.failure_event.event_specific_data is not None:
        err = getattr(context.failure_event.event_specific_data, "error", None)
        if err is not None:
            error = err.message.strip().splitlines()[0]
    now = utc_now()
    with accsync_db.engine.begin() as conn:
        org = org_store.find_org(conn, org_id)
        existing = run_store.find_run(conn, run.run_id)
        if existing is not None and existing.status == "started":
            # The run process died without closing its summary (killed, out of memory).
            run_store.finish_run(conn, run.run_id, "failure", now, error)
        notify_run_failed(
            conn, org_id, org.connector_type if org else "unknown connector", run.run_id, error, now
        )
