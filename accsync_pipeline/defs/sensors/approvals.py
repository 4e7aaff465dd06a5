"""Sync on approval: notices new or edited approved records and launches one run per affected org.

The cursor is durable (Dagster stores it) and small: the last (updated_at, record_id) seen, the
orgs that wanted a run while one was already active, and per org a digest of the records that
last launched it. Commit order is not `updated_at` order: a transaction that commits late can
add a record older than the cursor. So each tick also re-scans an overlap window behind the
cursor for records no sync has taken in yet; the digest keeps the same records from launching
a second run, and the export tolerates seeing a record twice anyway.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.records import SyncStatus, Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.triggers import MAX_RUNS_PER_TICK, cap_launches, plan_approval_syncs
from accsync_pipeline.service.dagster_runs import active_runs_by_org
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import queue

BATCH = 10_000  # changes read per tick; the cursor moves on, the rest come next tick
# How far behind the cursor a late-committing transaction may have written its updated_at.
OVERLAP = timedelta(minutes=5)
# Below the daemon's own 5-second pass, so that no pass is skipped for being a little early.
APPROVAL_SENSOR_INTERVAL = 2
Row = tuple[str, str, str]  # org_id, record_id, updated_at (ISO)


@dataclass(frozen=True)
class Changes:
    new_orgs: set[str]  # orgs with records changed after the cursor
    wanting: dict[str, list[Row]]  # per org, the records that call for a sync (new, or late and not taken in)
    after: tuple[str, str] | None  # the cursor's new position


def changed_orgs_since(conn: sa.Connection, after: tuple[str, str] | None) -> Changes:
    """Records changed after the cursor (ignoring edits of records in the ledger), and late ones behind it."""
    position = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    late, rows = queue.source_changes(conn, position, OVERLAP, BATCH)
    new = [r for r in rows if r.status != SyncStatus.EXPORTED]
    wanting: dict[str, list[Row]] = defaultdict(list)
    for r in [*late, *new]:
        wanting[r.org_id].append((r.org_id, r.record_id, r.updated_at.isoformat()))
    position_now = (rows[-1].updated_at.isoformat(), rows[-1].record_id) if rows else after
    return Changes({r.org_id for r in new}, dict(wanting), position_now)


def digest(rows: Iterable[Row]) -> str:
    """Names a set of records briefly: the same set never launches twice."""
    text = "\n".join(f"{record_id}@{at}" for _, record_id, at in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dg.sensor(
    job=sync_job,
    # Evaluated on every pass of Dagster's sensor daemon (at most every 5 s): an approval is in the
    # ledger within seconds (make bench-latency). A tick with nothing new costs a few indexed queries.
    minimum_interval_seconds=APPROVAL_SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "About every 5 s: orgs that sync on approval and have new or edited approved records get one "
        "`approval` run each; an org already syncing waits for its turn, and orgs beyond "
        f"{MAX_RUNS_PER_TICK} runs per tick go first next tick. Records committed late "
        f"(up to {int(OVERLAP.total_seconds() // 60)} minutes behind the newest) are still noticed."
    ),
)
def approval_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SensorResult:
    """Launches a sync (trigger `approval`) for each org that asks for sync on approval."""
    state = json.loads(context.cursor) if context.cursor else {}
    after = tuple(state["after"]) if state.get("after") else None
    sent: dict[str, str] = state.get("sent", {})
    with accsync_db.engine.connect() as conn:
        changes = changed_orgs_since(conn, after)
        orgs = {o.org_id: o for o in org_store.list_orgs(conn)}
    digests = {org_id: digest(rows) for org_id, rows in changes.wanting.items()}
    # Late records only: a sync for exactly these records was launched already.
    late_reasons = {o for o, d in digests.items() if o not in changes.new_orgs and sent.get(o) != d}
    candidates = changes.new_orgs | late_reasons | set(state.get("waiting", []))
    active = active_runs_by_org(context.instance)  # one run-storage query for every org
    busy = {org_id for org_id in candidates if org_id in active}
    # A busy org with late records only need not wait: the window shows them again next tick.
    planned = plan_approval_syncs(
        changes.new_orgs | (late_reasons - busy), state.get("waiting", []), orgs, busy
    )
    # Capped per tick; orgs over the cap wait in the cursor and go first next tick.
    launch, over_cap = cap_launches(planned.launch, state.get("waiting", []))
    plan = dataclasses.replace(planned, launch=launch, waiting=(*over_cap, *planned.waiting))
    known = set(context.instance.get_dynamic_partitions(organization_partitions.name or "organization"))
    new_partitions = sorted(set(plan.launch) - known)
    # Orgs whose wanting records are gone (taken in) drop out, which keeps the cursor small.
    still_sent = {o: d for o, d in sent.items() if o in digests}
    still_sent.update({o: digests[o] for o in plan.launch if o in digests})
    cursor = json.dumps(
        {
            "after": list(changes.after) if changes.after else None,
            "waiting": list(plan.waiting),
            "sent": still_sent,
        }
    )
    requests = [
        dg.RunRequest(
            partition_key=org_id,
            tags=sync_run_tags(org_id, Trigger.APPROVAL.value),
            run_key=f"approval:{org_id}:{digests.get(org_id) or 'waiting:' + json.dumps(changes.after)}",
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
