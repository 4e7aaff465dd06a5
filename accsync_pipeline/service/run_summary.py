"""What one sync run did, from accsync's attempt log: for the CLI's summary and the admin screens."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import sync_attempts


@dataclass
class RunSummary:
    run_id: str
    status: str
    total: int = 0
    done: int = 0
    exported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def run_summary(conn: sa.Connection, run_id: str, listed: int = 100) -> RunSummary | None:
    run = run_store.find_run(conn, run_id)
    if run is None:
        return None
    summary = RunSummary(run_id, run.status, run.total, run.done, run.exported)
    rows = conn.execute(
        sa.select(sync_attempts.c.record_id, sync_attempts.c.outcome, sync_attempts.c.error)
        .where(sync_attempts.c.run_id == run_id, sync_attempts.c.outcome.in_(["skipped", "failed"]))
        .order_by(sync_attempts.c.record_id)
        .limit(listed)
    )
    for record_id, outcome, error in rows:
        (summary.skipped if outcome == "skipped" else summary.failed).append((record_id, error or ""))
    return summary
