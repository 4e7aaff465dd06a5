"""accsync's summary of each sync run: progress while it runs, counts when it ends.

Dagster's run storage is the sync log; this table mirrors the few numbers that the status
screen needs for a thousand orgs at once, and the progress other processes poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.records import AttemptOutcome
from accsync_pipeline.store.schema import org_sync_claims, sync_attempts, sync_runs

R = sync_runs
OPEN = "started"


@dataclass(frozen=True)
class SyncRun:
    run_id: str
    org_id: str
    trigger: str
    user_id: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    total: int
    done: int
    exported: int
    skipped: int
    failed: int
    error: str | None
    heartbeat_at: datetime | None = None
    worker_host: str | None = None
    worker_pid: int | None = None


def _from_row(row: sa.Row[Any]) -> SyncRun:
    m = row._mapping
    return SyncRun(**{k: m[k] for k in SyncRun.__dataclass_fields__})


def start_run(
    conn: sa.Connection,
    run_id: str,
    org_id: str,
    trigger: str,
    user_id: str | None,
    now: datetime,
    worker: tuple[str, int] | None = None,
) -> None:
    """Record that a run began (again, on a Dagster retry of the same run: counts restart).

    `worker` is the (host, pid) of the process running it, for the liveness sensor.
    """
    existing = conn.execute(sa.select(R.c.run_id).where(R.c.run_id == run_id)).first()
    values: dict[str, Any] = {
        "status": OPEN,
        "started_at": now,
        "finished_at": None,
        "total": 0,
        "done": 0,
        "error": None,
        "heartbeat_at": now,
        "worker_host": worker[0] if worker else None,
        "worker_pid": worker[1] if worker else None,
    }
    if existing:
        conn.execute(R.update().where(R.c.run_id == run_id).values(**values))
    else:
        conn.execute(
            R.insert().values(run_id=run_id, org_id=org_id, trigger=trigger, user_id=user_id, **values)
        )


def add_to_total(conn: sa.Connection, run_id: str, count: int) -> None:
    conn.execute(R.update().where(R.c.run_id == run_id).values(total=R.c.total + count))


def add_progress(conn: sa.Connection, run_id: str, exported: int, skipped: int, failed: int) -> None:
    conn.execute(
        R.update()
        .where(R.c.run_id == run_id)
        .values(
            done=R.c.done + exported + skipped + failed,
            exported=R.c.exported + exported,
            skipped=R.c.skipped + skipped,
            failed=R.c.failed + failed,
        )
    )


def finish_run(
    conn: sa.Connection, run_id: str, status: str, now: datetime, error: str | None = None
) -> None:
    """Close the run's row (its counts stay) and free its org's sync claim, in one transaction."""
    conn.execute(R.update().where(R.c.run_id == run_id).values(status=status, finished_at=now, error=error))
    conn.execute(org_sync_claims.delete().where(org_sync_claims.c.run_id == run_id))


def close_if_open(conn: sa.Connection, run_id: str, status: str, now: datetime, error: str) -> bool:
    """Close a run that did not close itself (its process died); False if it closed meanwhile."""
    closed = conn.execute(
        R.update()
        .where(R.c.run_id == run_id, R.c.status == OPEN)
        .values(status=status, finished_at=now, error=error)
    ).rowcount
    conn.execute(org_sync_claims.delete().where(org_sync_claims.c.run_id == run_id))
    return bool(closed)


def beat(conn: sa.Connection, run_id: str, now: datetime) -> bool:
    """The run's process is alive; False once the run is closed (the beating can stop)."""
    return bool(
        conn.execute(
            R.update().where(R.c.run_id == run_id, R.c.status == OPEN).values(heartbeat_at=now)
        ).rowcount
    )


def open_runs(conn: sa.Connection) -> list[SyncRun]:
    """Runs whose rows are still open, oldest heartbeat first."""
    rows = conn.execute(sa.select(R).where(R.c.status == OPEN).order_by(R.c.heartbeat_at)).all()
    return [_from_row(r) for r in rows]


def find_run(conn: sa.Connection, run_id: str) -> SyncRun | None:
    row = conn.execute(sa.select(R).where(R.c.run_id == run_id)).first()
    return _from_row(row) if row else None


def latest_run(conn: sa.Connection, org_id: str) -> SyncRun | None:
    row = conn.execute(
        sa.select(R).where(R.c.org_id == org_id).order_by(R.c.started_at.desc()).limit(1)
    ).first()
    return _from_row(row) if row else None


def last_success(conn: sa.Connection, org_id: str) -> SyncRun | None:
    row = conn.execute(
        sa.select(R)
        .where(R.c.org_id == org_id, R.c.status == "success")
        .order_by(R.c.finished_at.desc())
        .limit(1)
    ).first()
    return _from_row(row) if row else None


def org_runs(conn: sa.Connection, org_id: str, limit: int) -> list[SyncRun]:
    """The org's runs, newest first (the org/started index)."""
    query = sa.select(R).where(R.c.org_id == org_id).order_by(R.c.started_at.desc()).limit(limit)
    return [_from_row(r) for r in conn.execute(query)]


def find_runs(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, SyncRun]:
    """accsync's summaries of the given runs, by run id (runs it never began are absent)."""
    if not run_ids:
        return {}
    rows = conn.execute(sa.select(R).where(R.c.run_id.in_(list(run_ids))))
    return {row.run_id: _from_row(row) for row in rows}


def failed_attempts_of_runs(
    conn: sa.Connection, run_ids: Sequence[str], per_run: int = 50
) -> dict[str, list[tuple[str, str]]]:
    """Per run, (record id, error) of the records it failed, oldest first, at most `per_run` each."""
    if not run_ids:
        return {}
    T = sync_attempts
    query = (
        sa.select(T.c.run_id, T.c.record_id, T.c.error)
        .where(T.c.run_id.in_(list(run_ids)), T.c.outcome == AttemptOutcome.FAILED)
        .order_by(T.c.run_id, T.c.attempt_id)
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for run_id, record_id, error in conn.execute(query):
        listed = found.setdefault(run_id, [])
        if len(listed) < per_run:
            listed.append((record_id, error or ""))
    return found


def latest_per_org(
    conn: sa.Connection, statuses: Sequence[str], org_ids: Sequence[str] | None
) -> dict[str, Any]:
    """Each org's newest run among `statuses`, in one query (a window over the org/started index)."""
    rank = sa.func.row_number().over(partition_by=R.c.org_id, order_by=R.c.started_at.desc()).label("rank")
    inner = sa.select(R, rank).where(R.c.status.in_(list(statuses)))
    if org_ids is not None:
        inner = inner.where(R.c.org_id.in_(list(org_ids)))
    ranked = inner.subquery()
    rows = conn.execute(sa.select(ranked).where(ranked.c.rank == 1))
    return {row.org_id: row for row in rows}


def last_successes(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, datetime]:
    """Each org's latest successful finish, in one grouped query."""
    query = (
        sa.select(R.c.org_id, sa.func.max(R.c.finished_at))
        .where(R.c.status == "success")
        .group_by(R.c.org_id)
    )
    if org_ids is not None:
        query = query.where(R.c.org_id.in_(list(org_ids)))
    return {org_id: at for org_id, at in conn.execute(query) if at is not None}


def open_or_ended_since(conn: sa.Connection, since: datetime, org_id: str | None) -> list[Any]:
    """Runs still open or ended after `since` (of one org, or all), oldest start first."""
    query = sa.select(R).where(sa.or_(R.c.status == OPEN, R.c.finished_at >= since))
    if org_id is not None:
        query = query.where(R.c.org_id == org_id)
    return list(conn.execute(query.order_by(R.c.started_at)))


def problem_attempts(conn: sa.Connection, run_id: str, limit: int) -> list[tuple[str, str, str | None]]:
    """(record id, outcome, error) of the run's skipped and failed attempts, by record id."""
    A = sync_attempts
    rows = conn.execute(
        sa.select(A.c.record_id, A.c.outcome, A.c.error)
        .where(A.c.run_id == run_id, A.c.outcome.in_([AttemptOutcome.SKIPPED, AttemptOutcome.FAILED]))
        .order_by(A.c.record_id)
        .limit(limit)
    )
    return [(record_id, outcome, error) for record_id, outcome, error in rows]
