"""What one sync run did, from accsync's attempt log: for the CLI's summary and the admin screens."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from accsync_pipeline.store import runs as run_store


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
    for record_id, outcome, error in run_store.problem_attempts(conn, run_id, listed):
        (summary.skipped if outcome == "skipped" else summary.failed).append((record_id, error or ""))
    return summary
