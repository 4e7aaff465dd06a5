"""Records left in flight, with the type and approval time recovery needs (the approval decides
whether their lookup asks for legacy keys), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from accsync_pipeline.store import queue
from accsync_pipeline.store import records as record_store
from accsync_pipeline_tests.factories import NOW, add_source


def test_only_the_orgs_records_in_flight_with_their_type_and_approval(engine: Engine) -> None:
    early, late = NOW - timedelta(days=40), NOW - timedelta(minutes=5)
    with engine.begin() as conn:
        add_source(conn, "r2", approved_at=late, updated_at=late, record_type="honorarium")
        add_source(conn, "r1", approved_at=early, updated_at=early)
        add_source(conn, "r3", approved_at=early, updated_at=early)  # pending, not in flight
        add_source(conn, "n1", "nfo", approved_at=late, updated_at=late)  # another org's
        for org_id in ("hlf", "nfo"):
            record_store.intake(conn, org_id, NOW)
        record_store.mark_in_flight(conn, ["r1", "r2", "n1"], "run-1", NOW)
        assert queue.in_flight_approvals(conn, "hlf") == {
            "r1": ("reimbursement", early),
            "r2": ("honorarium", late),
        }
        assert list(queue.in_flight_approvals(conn, "hlf")) == ["r1", "r2"]
        assert queue.in_flight_approvals(conn, "nfo") == {"n1": ("reimbursement", late)}
