"""Automatic per-record retries: launches an `auto_retry` run for orgs whose failed records are due."""

from __future__ import annotations

import json

import dagster as dg

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.triggers import MAX_RUNS_PER_TICK, cap_launches, plan_auto_retries
from accsync_pipeline.service.dagster_runs import active_runs_by_org
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import queue


@dg.sensor(
    job=sync_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 60 s: one `auto_retry` run per org whose failed records' backoff has come due "
        "(transient failures only; records the ledger rejected wait for a fix or a manual retry). "
        f"At most {MAX_RUNS_PER_TICK} runs per tick; the orgs left over go first next tick."
    ),
)
def auto_retry_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SensorResult:
    """One run per org with due records; the backoff itself was set when each record failed."""
    now = utc_now()
    with accsync_db.engine.connect() as conn:
        due_at = queue.first_due_by_org(conn, now)
        orgs = {o.org_id: o for o in org_store.list_orgs(conn)}
    busy = active_runs_by_org(context.instance)  # one run-storage query for every org
    carried = json.loads(context.cursor).get("carried", []) if context.cursor else []
    launch, rest = cap_launches(plan_auto_retries(due_at, orgs, busy), carried)
    cursor = json.dumps({"carried": list(rest)})
    if not launch:
        return dg.SensorResult(skip_reason="no failed records are due for an automatic retry", cursor=cursor)
    return dg.SensorResult(
        cursor=cursor,
        run_requests=[
            dg.RunRequest(
                partition_key=org_id,
                tags=sync_run_tags(org_id, Trigger.AUTO_RETRY.value),
                # Once per batch of due records: the same due time never launches twice.
                run_key=f"auto_retry:{org_id}:{due_at[org_id].isoformat()}",
            )
            for org_id in launch
        ],
    )
