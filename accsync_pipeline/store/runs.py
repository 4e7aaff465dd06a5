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

from accsync_pipeline.store.schema import sync_attempts, sync_runs

R = sync_runs


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


def _from_row(row: sa.Row[Any]) -> SyncRun:
    m = row._mapping
    return SyncRun(**{k: m[k] for k in SyncRun.__dataclass_fields__})


def start_run(
    conn: sa.Connection, run_id: str, org_id: str, trigger: str, user_id: str | None, now: datetime
) -> None:
    """Record that a run began (again, on a Dagster retry of the same run: counts restart)."""
    existing = conn.execute(sa.select(R.c.run_id).where(R.c.run_id == run_id)).first()
    values = {
        "status": "started",
        "started_at": now,
        "finished_at": None,
        "total": 0,
        "done": 0,
        "error": None,
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
    conn.execute(R.update().where(R.c.run_id == run_id).values(status=status, finished_at=now, error=error))


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
        .where(T.c.run_id.in_(list(run_ids)), T.c.outcome == "failed")
        .order_by(T.c.run_id, T.c.attempt_id)
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for run_id, record_id, error in conn.execute(query):
        listed = found.setdefault(run_id, [])
        if len(listed) < per_run:
            listed.append((record_id, error or ""))
    return found
