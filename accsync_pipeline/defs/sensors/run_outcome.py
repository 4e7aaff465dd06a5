"""Closes accsync's summary of a sync run when Dagster ends it, and tells the org admins why it failed.

Every run that exports an org is watched, whatever launched it: the sync job, and Dagster's
implicit asset job when a partition is materialized from the UI. The reason given is the
one accsync recorded, else the innermost cause in Dagster's serialized error chain, in words.
"""

from __future__ import annotations

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from accsync_pipeline.defs.assets import ASSET_KEYS
from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.failures import cause_in_words
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG, REFUSED_TAG
from accsync_pipeline.service.alerting import notify_run_failed, notify_run_refused
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import runs as run_store

EXPORT_ASSET_KEYS = frozenset(ASSET_KEYS.values())


def is_sync_run(run: dg.DagsterRun) -> bool:
    """A run that exports an org's records: the sync job, or any job whose selection holds an export asset."""
    if run.job_name == SYNC_JOB_NAME or ORG_TAG in run.tags:
        return True
    return bool(run.asset_selection and EXPORT_ASSET_KEYS & set(run.asset_selection))


def innermost_cause(error: SerializableErrorInfo | None) -> str | None:
    """The message at the bottom of Dagster's error chain (wrappers carry their cause in `.cause`)."""
    if error is None:
        return None
    while error.cause is not None:
        error = error.cause
    return cause_in_words(error.message, [error.cls_name or ""])


def failure_cause(context: dg.RunFailureSensorContext, recorded: str | None) -> str:
    """Why the run failed, in words: accsync's own record first, then what Dagster kept."""
    if recorded:
        return recorded
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        described = data.user_failure_data.metadata.get("cause") if data.user_failure_data else None
        if described is not None and getattr(described, "value", None):
            return str(described.value)
        cause = innermost_cause(data.error)
        if cause:
            return cause
    failure = context.failure_event.event_specific_data
    cause = innermost_cause(getattr(failure, "error", None))
    return cause or cause_in_words(context.failure_event.message)


def retries_made(instance: dg.DagsterInstance, run_id: str) -> int:
    """How many times the export was retried within the run before it failed for good."""
    return len(instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY).records)


@dg.run_failure_sensor(
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    description=(
        "When a sync run fails, whatever launched it (schedule, sensor, Sync Now, the CLI, a partition "
        "materialized from the Dagster UI, a re-execution), closes its sync-log row with the cause in "
        "words and tells the org's administrators once. Runs refused before they started (tag "
        "accsync/refused) raise no org alert: global administrators get an ops note. Other runs are ignored."
    ),
)
def sync_run_failure_sensor(context: dg.RunFailureSensorContext, accsync_db: AccsyncDatabase) -> None:
    """A run fails only once its retries are spent, so every failure here is final: notify once per run."""
    run = context.dagster_run
    if not is_sync_run(run):
        return
    org_id = run.tags.get(ORG_TAG) or run.tags.get(PARTITION_TAG)
    now = utc_now()
    with accsync_db.engine.begin() as conn:
        existing = run_store.find_run(conn, run.run_id)
        cause = failure_cause(context, existing.error if existing else None)
        if existing is not None and existing.status == "started":
            # The run process died or failed outside the op without closing its summary.
            run_store.finish_run(conn, run.run_id, "failure", now, cause)
        if run.tags.get(REFUSED_TAG) == "true":
            notify_run_refused(conn, org_id, run.run_id, cause, now)
            return
        if not org_id:
            return
        org = org_store.find_org(conn, org_id)
        notify_run_failed(
            conn,
            org_id,
            org.connector_type if org else "unknown connector",
            run.run_id,
            cause,
            now,
            retries=retries_made(context.instance, run.run_id),
        )
