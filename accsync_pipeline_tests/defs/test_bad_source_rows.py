"""A bad source row is skipped with its reason; the org's other records still sync, amounts unchanged."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store.schema import record_sync_state as S
from accsync_pipeline_tests.factories import add_org_with_admin, add_source, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings


def test_bad_rows_are_skipped_with_their_reason_and_the_rest_posts_exactly(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "acme", 3, prefix="G", amount=Decimal("1234.56"))
        add_source(conn, "U1", "acme", record_type="bonus")
        if sqlite:  # PostgreSQL's numeric(12,2) would refuse or round these on insert
            add_source(conn, "T1", "acme")
            conn.execute(sa.text("UPDATE approved_records SET amount = 'abc' WHERE record_id = 'T1'"))
            add_source(conn, "D1", "acme", amount=Decimal("12.345"))
            add_source(conn, "D2", "acme", amount=Decimal("0.005"))
            add_source(conn, "B1", "acme", amount=Decimal("1e12"))

    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))

    assert success
    amounts = Counter(str(p["amount"]) for p in dynamics_sandbox.postings())
    assert amounts == {"1234.56": 3}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(S.c.record_id, S.c.status, S.c.skip_reason)).all()
    state = {rid: (status, reason or "") for rid, status, reason in rows}
    exported = {rid for rid, (status, _) in state.items() if status == "exported"}
    assert exported == {"G00000", "G00001", "G00002"}
    assert state["U1"] == ("skipped", "unknown record type 'bonus'")
    if sqlite:
        assert state["T1"] == ("skipped", "amount is not a number")
        assert state["D1"][0] == state["D2"][0] == "skipped" and "more than two decimals" in state["D1"][1]
        assert "more than two decimals" in state["D2"][1]
        assert state["B1"][0] == "skipped" and "larger than" in state["B1"][1]
