"""Outcomes are written on a thread of their own while the export goes on, in order, and a
failed write reaches the exporting thread instead of being lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service import export
from accsync_pipeline.service.export import ExportSummary, ResultWriter, RunContext
from accsync_pipeline.store import records
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import record_sync_state, sync_runs
from accsync_pipeline_tests.factories import NOW, add_sources


def test_outcomes_handed_over_are_committed_in_order_by_flush(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "FLUSH_EVERY", 2)  # several hand-overs in flight at once
    with engine.begin() as conn:
        ids = add_sources(conn, "hlf", 7)
        records.intake(conn, "hlf", NOW)
        run_store.start_run(conn, "run-1", "hlf", "manual", None, NOW)
    summaries: dict[str, ExportSummary] = {}
    writer = ResultWriter(engine, RunContext("run-1", "manual", lambda: NOW), summaries)
    try:
        for rid in ids:
            writer.add(
                "reimbursement", RecordResult(rid, "hlf", SyncStatus.EXPORTED, external_id=f"BC-{rid}")
            )
        # A later outcome of the same record wins: the two writes keep their order.
        writer.add("reimbursement", RecordResult(ids[0], "hlf", SyncStatus.FAILED, error="blocked"))
        writer.flush()
        with engine.connect() as conn:
            states = dict(
                conn.execute(sa.select(record_sync_state.c.record_id, record_sync_state.c.status)).all()
            )
            done = conn.execute(sa.select(sync_runs.c.done).where(sync_runs.c.run_id == "run-1")).scalar_one()
    finally:
        writer.close()
    assert states == {**{rid: "exported" for rid in ids}, ids[0]: "failed"}
    assert done == 8 and summaries["reimbursement"].exported == 7


def test_a_write_that_fails_is_raised_to_the_exporting_thread(tmp_path: Path) -> None:
    unmigrated = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    writer = ResultWriter(unmigrated, RunContext("run-1", "manual", lambda: NOW), {})
    try:
        writer.add("reimbursement", RecordResult("R1", "hlf", SyncStatus.EXPORTED, external_id="BC-1"))
        with pytest.raises(sa.exc.OperationalError):
            writer.flush()
        with pytest.raises(sa.exc.OperationalError):  # and again: nothing after it is written
            writer.add("reimbursement", RecordResult("R2", "hlf", SyncStatus.EXPORTED, external_id="BC-2"))
            writer.flush()
    finally:
        writer.close()
        unmigrated.dispose()
