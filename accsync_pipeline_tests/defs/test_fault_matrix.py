"""Exactly once through the whole pipeline, against sandboxes with every quirk on and faults combined.

DESIGN, "What exactly once means here": after any mix of lost responses, 5xx after commit,
throttling, Xledger's partial commits and "Your query timed out.", Business Central's
journal postings in between and records the ledger rejects, every exportable record is in
the ledger exactly once (journal lines plus posted entries), every rejected record is absent
and failed with the ledger's own code, and no run crashed on a lookup.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.ledger_counts import records_in_ledger
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings, xledger_settings

RECORDS = 300  # three Business Central batches, two Xledger mutations
MAX_SYNCS = 5
COUNTDOWNS = {
    "drop_after_commit",
    "line_faults",
    "throttle",
    "server_errors",
    "stall_after_commit",
    "timeout_after_commit",
    "resets",
}

# (connector, faults, settings overrides); the rejected records are added to every plan.
SCENARIOS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "bc-lost-responses-and-journal-posted-every-7-lines": (
        "dynamics",
        {"drop_after_commit": 2, "post_journal_every": 7},
        {},
    ),
    "bc-5xx-after-commit-on-lines-throttling-and-503": (
        "dynamics",
        {
            "line_faults": 6,
            "line_fault_status": 500,
            "throttle": 2,
            "server_errors": 1,
            "post_journal_every": 50,
        },
        {},
    ),
    "bc-answers-later-than-the-timeout-and-journal-postings": (
        "dynamics",
        {"stall_after_commit": 2, "stall_ms": 1500, "post_journal_every": 5, "resets": 1},
        {"timeout_seconds": 0.5},
    ),
    "xledger-partial-commits-naming-no-input": (
        "xledger",
        {"partial_commit": True, "name_bad_inputs": False},
        {},
    ),
    "xledger-partial-commits-with-data-and-named-inputs": (
        "xledger",
        {"partial_commit": True, "name_bad_inputs": True, "partial_data": True},
        {},
    ),
    "xledger-timeouts-after-commit-and-lost-responses": (
        "xledger",
        {"timeout_after_commit": 2, "drop_after_commit": 1},
        {},
    ),
    "xledger-throttling-5xx-and-answers-later-than-the-timeout": (
        "xledger",
        {"throttle": 2, "server_errors": 1, "stall_after_commit": 1, "stall_ms": 1500},
        {"timeout_seconds": 0.5},
    ),
}


def make_failed_records_due(engine: Engine, org_id: str) -> None:
    """What time does for transient failures: their automatic retry becomes due."""
    with engine.begin() as conn:
        conn.execute(
            record_sync_state.update()
            .where(record_sync_state.c.org_id == org_id, record_sync_state.c.next_attempt_at.is_not(None))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
        )


def states(engine: Engine, org_id: str) -> dict[str, tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                record_sync_state.c.record_id,
                record_sync_state.c.status,
                record_sync_state.c.last_error,
                record_sync_state.c.last_error_code,
            ).where(record_sync_state.c.org_id == org_id)
        )
        return {rid: (status, error, code) for rid, status, error, code in rows}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_exportable_record_reaches_the_ledger_exactly_once_whatever_goes_wrong(
    scenario: str,
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    request: pytest.FixtureRequest,
) -> None:
    connector_type, faults, overrides = SCENARIOS[scenario]
    sandbox: RunningSandbox = request.getfixturevalue(f"{connector_type}_sandbox")
    settings = (xledger_settings if connector_type == "xledger" else dynamics_settings)(sandbox, **overrides)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("matrix", connector_type, settings))
        good = add_sources(conn, "matrix", RECORDS, prefix="G")
        unexportable = add_sources(conn, "matrix", 2, prefix="U", employee_number=None)
    rejected = [good[7], good[150], good[299]]
    exportable = [rid for rid in good if rid not in rejected]
    code = "INVALID_VALUE" if connector_type == "xledger" else "BadRequest_InvalidAccount"
    sandbox.set_faults(**faults, reject_keys={idempotency_key("matrix", rid): code for rid in rejected})

    outcomes = []
    for trigger in ["manual", *["auto_retry"] * (MAX_SYNCS - 1)]:
        run_id, _ = in_process.run_sync(dagster_instance, SyncRequest("matrix", trigger))
        with engine.connect() as conn:
            run = run_store.find_run(conn, run_id)
        assert run is not None
        outcomes.append((run.status, run.error))
        left = [rid for rid, (status, _, _) in states(engine, "matrix").items() if status != "exported"]
        if set(left) == set(rejected) | set(unexportable):
            break
        make_failed_records_due(engine, "matrix")

    # Every fault of the scenario happened; journal postings moved lines out of the journal.
    left_over = sandbox._call("GET", "/_sandbox/faults")
    assert {name: left_over[name] for name in faults if name in COUNTDOWNS} == dict.fromkeys(
        set(faults) & COUNTDOWNS, 0
    )
    if faults.get("post_journal_every"):
        assert any(p.get("state") == "posted" for p in sandbox.postings())
    # No run crashed: a run may give up on a batch the ledger keeps refusing, never on a lookup.
    assert all(status == "success" or "Error" not in (error or "") for status, error in outcomes), outcomes
    assert records_in_ledger(sandbox, connector_type, "matrix", good) == {
        **dict.fromkeys(exportable, 1),
        **dict.fromkeys(rejected, 0),
    }
    final = states(engine, "matrix")
    assert {rid for rid, (status, _, _) in final.items() if status == "exported"} == set(exportable)
    for rid in rejected:
        status, error, error_code = final[rid]
        assert status == "failed" and error and error_code == code, (rid, final[rid])
    assert all(final[rid][0] == "skipped" for rid in unexportable)
