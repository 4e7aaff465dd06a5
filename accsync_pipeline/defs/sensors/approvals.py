"""Sync on approval: notices new or edited approved records and launches one run per affected org.

The cursor is durable (Dagster stores it): the last (updated_at, record_id) seen, plus the orgs
that wanted a run while one was already active.
"""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.records import SyncStatus, Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.triggers import plan_approval_syncs
from accsync_pipeline.service.in_process import active_run_id
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.schema import approved_records, record_sync_state

BATCH = 10_000  # changes read per tick; the cursor moves on, the rest come next tick
A = approved_records
S = record_sync_state


def changed_orgs_since(
    conn: sa.Connection, after: tuple[str, str] | None
) -> tuple[set[str], tuple[str, str] | None]:
    """Orgs with records changed after the cursor (ignoring edits of records already in the ledger)."""
    query = (
        sa.select(A.c.org_id, A.c.updated_at, A.c.record_id, S.c.status)
        .select_from(A.outerjoin(S, S.c.record_id == A.c.record_id))
        .order_by(A.c.updated_at, A.c.record_id)
        .limit(BATCH)
    )
    if after is not None:
        at = datetime.fromisoformat(after[0])
        query = query.where(
            sa.or_(A.c.updated_at > at, sa.and_(A.c.updated_at == at, A.c.record_id > after[1]))
        )
    rows = conn.execute(query).all()
    if not rows:
        return set(), after
    orgs = {r.org_id for r in rows if r.status != SyncStatus.EXPORTED}
    last = rows[-1]
    return orgs, (last.updated_at.isoformat(), last.record_id)


@dg.sensor(job=sync_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def approval_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SensorResult:
    """Launches a sync (trigger `approval`) for each org that asks for sync on approval."""
    state = json.loads(context.cursor) if context.cursor else {}
    after = tuple(state["after"]) if state.get("after") else None
    with accsync_db.engine.connect() as conn:
        changed, new_after = changed_orgs_since(conn, after)  # type: ignore[arg-type]
        orgs = {o.org_id: o for o in org_store.list_orgs(conn)}
    candidates = changed | set(state.get("waiting", []))
    busy = [org_id for org_id in candidates if active_run_id(context.instance, org_id)]
    plan = plan_approval_syncs(changed, state.get("waiting", []), orgs, busy)
    known = set(context.instance.get_dynamic_partitions(organization_partitions.name or "organization"))
    new_partitions = sorted(set(plan.launch) - known)
    cursor = json.dumps({"after": list(new_after) if new_after else None, "waiting": list(plan.waiting)})
    requests = [
        dg.RunRequest(
            partition_key=org_id,
            tags=sync_run_tags(org_id, Trigger.APPROVAL.value),
            run_key=f"approval:{org_id}:{cursor}",
        )
        for org_id in plan.launch
    ]
    partition_requests = [organization_partitions.build_add_request(new_partitions)] if new_partitions else []
    if not requests:
        reason = (
            f"waiting for running syncs of {', '.join(plan.waiting)}" if plan.waiting else "no new approvals"
        )
        return dg.SensorResult(
            skip_reason=reason, cursor=cursor, dynamic_partitions_requests=partition_requests
        )
    return dg.SensorResult(
        run_requests=requests, cursor=cursor, dynamic_partitions_requests=partition_requests
    )
