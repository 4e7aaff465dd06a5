"""Sync on approval: notices new or edited approved records and launches one run per affected org.

The cursor is durable (Dagster stores it) and small: the last (updated_at, record_id) seen, the
orgs that wanted a run while one was already active, and per org a digest of the records that
last launched it. Commit order is not `updated_at` order: a transaction that commits late can
add a record older than the cursor. So each tick also re-scans an overlap window behind the
cursor for records no sync has taken in yet; the digest keeps the same records from launching
a second run, and the export tolerates seeing a record twice anyway.

Dagster's sensor daemon starts a pass at most every 5 seconds (a constant of Dagster's), so an
approval would wait 2.5 s on average just to be seen. A tick with nothing to launch therefore
keeps looking (`long_poll_bound`, one short read every 0.2 s) and returns as soon as an approval
calls for a run. The daemon evaluates sensors on threads and skips a sensor whose last tick is
still running, so the wait fills the gap between passes and never stacks ticks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.partitions import ORG_PARTITIONS, organization_partitions
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import SyncStatus, Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.triggers import (
    MAX_RUNS_PER_TICK,
    TriggerPlan,
    cap_launches,
    plan_approval_syncs,
)
from accsync_pipeline.service.dagster_runs import active_runs_by_org
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import queue

BATCH = 10_000  # changes read per tick; the cursor moves on, the rest come next tick
# How far behind the cursor a late-committing transaction may have written its updated_at.
OVERLAP = timedelta(minutes=5)
# Below the daemon's own 5-second pass, so that no pass is skipped for being a little early.
APPROVAL_SENSOR_INTERVAL = 2
Row = tuple[str, str, str]  # org_id, record_id, updated_at (ISO)

LONG_POLL_ENV = "ACCSYNC_APPROVAL_LONG_POLL_SECONDS"
# The tick, the daemon's own work around it and the wait must end before the next pass (5 s
# after this one), or that pass skips the sensor and the next look is 5 s later.
DEFAULT_LONG_POLL_SECONDS = 4.0
MAX_LONG_POLL_SECONDS = 4.5
POLL_EVERY_SECONDS = 0.2  # one indexed read of recent changes, in a connection of its own


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


def long_poll_bound() -> float:
    """How long a tick with nothing to launch keeps looking: ACCSYNC_APPROVAL_LONG_POLL_SECONDS,
    4 s by default, at most 4.5 s; 0 turns the wait off (each tick looks once)."""
    raw = os.environ.get(LONG_POLL_ENV, "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_LONG_POLL_SECONDS
    except ValueError:
        seconds = DEFAULT_LONG_POLL_SECONDS
    return min(max(seconds, 0.0), MAX_LONG_POLL_SECONDS)


def digest(rows: Iterable[Row]) -> str:
    """Names a set of records briefly: the same set never launches twice."""
    text = "\n".join(f"{record_id}@{at}" for _, record_id, at in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Look:
    """One read of what changed: the changes, a digest of each org's wanting records, and the
    orgs whose only reason for a run is late records not launched yet."""

    changes: Changes
    digests: dict[str, str]
    late_reasons: set[str]


def look(conn: sa.Connection, after: tuple[str, str] | None, sent: dict[str, str]) -> Look:
    changes = changed_orgs_since(conn, after)
    digests = {org_id: digest(rows) for org_id, rows in changes.wanting.items()}
    # Late records only: a sync for exactly these records was launched already.
    late_reasons = {o for o, d in digests.items() if o not in changes.new_orgs and sent.get(o) != d}
    return Look(changes, digests, late_reasons)


def plan(seen: Look, waiting: list[str], orgs: dict[str, OrgConfig], active: dict[str, str]) -> TriggerPlan:
    """Which orgs get a run now and which wait, given what is running."""
    candidates = seen.changes.new_orgs | seen.late_reasons | set(waiting)
    busy = {org_id for org_id in candidates if org_id in active}
    # A busy org with late records only need not wait: the window shows them again next tick.
    return plan_approval_syncs(seen.changes.new_orgs | (seen.late_reasons - busy), waiting, orgs, busy)


def keep_looking(
    engine: Engine,
    after: tuple[str, str] | None,
    sent: dict[str, str],
    deadline: float,
    calls_for_a_run: Callable[[Look], bool],
) -> Look:
    """Reads again every 0.2 s until a read calls for a run or the deadline (monotonic) comes.

    Each read has a connection (and, on SQLite, a read lock) of its own for a few milliseconds,
    never for the whole wait, so that writers are not held up.
    """
    while True:
        time.sleep(POLL_EVERY_SECONDS)
        with engine.connect() as conn:
            seen = look(conn, after, sent)
        if calls_for_a_run(seen) or time.monotonic() + POLL_EVERY_SECONDS > deadline:
            return seen


@dg.sensor(
    job=sync_job,
    # Evaluated on every pass of Dagster's sensor daemon (at most every 5 s), each tick waiting
    # for approvals until about the next pass: an approval is in the ledger within seconds (make
    # bench-latency). Each read while waiting costs two indexed queries.
    minimum_interval_seconds=APPROVAL_SENSOR_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Orgs that sync on approval and have new or edited approved records get one `approval` run "
        "each, within about a second (a tick with nothing to launch keeps looking for up to "
        f"{DEFAULT_LONG_POLL_SECONDS:g} s, until the daemon's next pass); an org already syncing waits "
        "for its turn, and orgs beyond "
        f"{MAX_RUNS_PER_TICK} runs per tick go first next tick. Records committed late "
        f"(up to {int(OVERLAP.total_seconds() // 60)} minutes behind the newest) are still noticed."
    ),
)
def approval_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SensorResult:
    """Launches a sync (trigger `approval`) for each org that asks for sync on approval."""
    deadline = time.monotonic() + long_poll_bound()
    state = json.loads(context.cursor) if context.cursor else {}
    after = tuple(state["after"]) if state.get("after") else None
    sent: dict[str, str] = state.get("sent", {})
    waiting: list[str] = state.get("waiting", [])
    with accsync_db.engine.connect() as conn:
        seen = look(conn, after, sent)
        orgs = {o.org_id: o for o in org_store.list_orgs(conn)}
    active = active_runs_by_org(context.instance)  # one run-storage query for every org
    planned = plan(seen, waiting, orgs, active)
    if not planned.launch and time.monotonic() + POLL_EVERY_SECONDS <= deadline:
        seen = keep_looking(
            accsync_db.engine, after, sent, deadline, lambda s: bool(plan(s, waiting, orgs, active).launch)
        )
        # Orgs and running syncs may have changed while waiting: the plan is made afresh.
        with accsync_db.engine.connect() as conn:
            orgs = {o.org_id: o for o in org_store.list_orgs(conn)}
        active = active_runs_by_org(context.instance)
        planned = plan(seen, waiting, orgs, active)
    changes, digests = seen.changes, seen.digests
    # Capped per tick; orgs over the cap wait in the cursor and go first next tick.
    launch, over_cap = cap_launches(planned.launch, waiting)
    plan_now = dataclasses.replace(planned, launch=launch, waiting=(*over_cap, *planned.waiting))
    known = set(context.instance.get_dynamic_partitions(ORG_PARTITIONS))
    new_partitions = sorted(set(plan_now.launch) - known)
    # Orgs whose wanting records are gone (taken in) drop out, which keeps the cursor small.
    still_sent = {o: d for o, d in sent.items() if o in digests}
    still_sent.update({o: digests[o] for o in plan_now.launch if o in digests})
    cursor = json.dumps(
        {
            "after": list(changes.after) if changes.after else None,
            "waiting": list(plan_now.waiting),
            "sent": still_sent,
        }
    )
    requests = [
        dg.RunRequest(
            partition_key=org_id,
            tags=sync_run_tags(org_id, Trigger.APPROVAL.value),
            run_key=f"approval:{org_id}:{digests.get(org_id) or 'waiting:' + json.dumps(changes.after)}",
        )
        for org_id in plan_now.launch
    ]
    partition_requests = [organization_partitions.build_add_request(new_partitions)] if new_partitions else []
    if not requests:
        reason = (
            f"waiting for running syncs of {', '.join(plan_now.waiting)}"
            if plan_now.waiting
            else "no new approvals"
        )
        return dg.SensorResult(
            skip_reason=reason, cursor=cursor, dynamic_partitions_requests=partition_requests
        )
    return dg.SensorResult(
        run_requests=requests, cursor=cursor, dynamic_partitions_requests=partition_requests
    )
