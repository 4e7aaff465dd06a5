"""Per-record sync state on SQLite and PostgreSQL: intake, queue, in-flight, outcomes, manual retry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.domain.validation import SkipCode
from accsync_pipeline.store import records
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_attempts
from accsync_pipeline_tests.factories import NOW, add_source


def status_of(conn: sa.Connection, record_id: str) -> str:
    return str(
        conn.execute(
            sa.select(record_sync_state.c.status).where(record_sync_state.c.record_id == record_id)
        ).scalar_one()
    )


def test_intake_queues_new_records_once_and_keeps_decimal_amounts(engine: Engine) -> None:
    with engine.begin() as conn:
        add_source(conn, "R1")
        add_source(conn, "R2", record_type="honorarium")
        add_source(conn, "X1", org_id="other")
        assert records.intake(conn, "hlf", NOW) == 2
        assert records.intake(conn, "hlf", NOW) == 0
        assert records.count_queue(conn, "hlf", NOW) == {"reimbursement": 1, "honorarium": 1}
        assert records.count_queue(conn, "hlf", NOW, record_types=["honorarium"]) == {"honorarium": 1}
        chunk = records.queue_chunk(conn, "hlf", NOW, "", 10)
    assert [r.record_id for r in chunk] == ["R1", "R2"]
    assert chunk[0].amount == Decimal("1234.50") and isinstance(chunk[0].amount, Decimal)
    assert chunk[0].approved_at.tzinfo is not None


def test_queue_pages_by_record_id(engine: Engine) -> None:
    with engine.begin() as conn:
        for i in range(7):
            add_source(conn, f"R{i}")
        records.intake(conn, "hlf", NOW)
        first = records.queue_chunk(conn, "hlf", NOW, "", 3)
        second = records.queue_chunk(conn, "hlf", NOW, first[-1].record_id, 3)
        third = records.queue_chunk(conn, "hlf", NOW, second[-1].record_id, 3)
    assert [r.record_id for r in first + second + third] == [f"R{i}" for i in range(7)]


def test_outcomes_move_records_and_log_each_attempt(engine: Engine) -> None:
    with engine.begin() as conn:
        for rid in ("R1", "R2", "R3"):
            add_source(conn, rid)
        records.intake(conn, "hlf", NOW)
        records.mark_in_flight(conn, ["R1", "R2", "R3"], "run-1", NOW)
        assert records.in_flight(conn, "hlf") == ["R1", "R2", "R3"]
        assert records.count_queue(conn, "hlf", NOW) == {}
        records.write_results(
            conn,
            [
                RecordResult("R1", "hlf", SyncStatus.EXPORTED, external_id="GL-1"),
                RecordResult(
                    "R2",
                    "hlf",
                    SyncStatus.FAILED,
                    error="throttled",
                    next_attempt_at=NOW + timedelta(minutes=5),
                ),
                RecordResult("R3", "hlf", SyncStatus.SKIPPED, skip_reason="no employee number"),
            ],
            "run-1",
            "manual",
            NOW,
        )
        assert [status_of(conn, r) for r in ("R1", "R2", "R3")] == ["exported", "failed", "skipped"]
        # R2 is queued again only once its backoff is due.
        assert records.count_queue(conn, "hlf", NOW) == {}
        assert records.count_queue(conn, "hlf", NOW + timedelta(minutes=5)) == {"reimbursement": 1}
        log = conn.execute(
            sa.select(sync_attempts.c.record_id, sync_attempts.c.outcome).order_by("record_id")
        ).all()
    assert [tuple(r) for r in log] == [("R1", "exported"), ("R2", "failed"), ("R3", "skipped")]


def test_manual_retry_resets_backoff_and_success_resolves_the_failed_entry(engine: Engine) -> None:
    with engine.begin() as conn:
        add_source(conn, "R1")
        add_source(conn, "R2")
        records.intake(conn, "hlf", NOW)
        failure = RecordResult(
            "R1", "hlf", SyncStatus.FAILED, error="503", next_attempt_at=NOW + timedelta(hours=6)
        )
        records.write_results(
            conn, [failure, RecordResult("R2", "hlf", SyncStatus.FAILED, error="x")], "run-1", "schedule", NOW
        )
        assert records.release_for_manual_retry(conn, "hlf", ["R1"], NOW) == ["R1"]
        assert status_of(conn, "R1") == "pending" and status_of(conn, "R2") == "failed"
        assert records.count_queue(conn, "hlf", NOW, record_ids=["R1"]) == {"reimbursement": 1}
        records.write_results(
            conn, [RecordResult("R1", "hlf", SyncStatus.EXPORTED, external_id="GL-9")], "run-2", "retry", NOW
        )
        state = (
            conn.execute(sa.select(record_sync_state).where(record_sync_state.c.record_id == "R1"))
            .one()
            ._mapping
        )
        entries = conn.execute(
            sa.select(sync_attempts.c.outcome, sync_attempts.c.resolved_by_run_id, sync_attempts.c.run_id)
            .where(sync_attempts.c.record_id == "R1")
            .order_by(sync_attempts.c.attempt_id)
        ).all()
    assert (
        state["attempt_count"] == 2 and state["consecutive_failures"] == 0 and state["external_id"] == "GL-9"
    )
    assert [tuple(e) for e in entries] == [("failed", "run-2", "run-1"), ("exported", None, "run-2")]


def test_an_edit_in_the_app_reopens_skipped_records_but_never_exported_ones(engine: Engine) -> None:
    with engine.begin() as conn:
        add_source(conn, "R1", employee_number=None)
        add_source(conn, "R2")
        records.intake(conn, "hlf", NOW)
        records.write_results(
            conn,
            [
                RecordResult("R1", "hlf", SyncStatus.SKIPPED, skip_reason="no employee number"),
                RecordResult("R2", "hlf", SyncStatus.EXPORTED, external_id="GL-2"),
            ],
            "run-1",
            "schedule",
            NOW,
        )
        later = NOW + timedelta(hours=1)
        for rid in ("R1", "R2"):
            conn.execute(
                approved_records.update()
                .where(approved_records.c.record_id == rid)
                .values(employee_number="20002", updated_at=later)
            )
        assert records.intake(conn, "hlf", later) == 1
        assert status_of(conn, "R1") == "pending" and status_of(conn, "R2") == "exported"


def test_in_flight_records_not_in_the_ledger_return_to_the_queue(engine: Engine) -> None:
    with engine.begin() as conn:
        add_source(conn, "R1")
        records.intake(conn, "hlf", NOW)
        records.mark_in_flight(conn, ["R1"], "run-1", NOW)
        records.return_to_pending(conn, ["R1"], NOW)
        assert status_of(conn, "R1") == "pending"


def test_amounts_are_read_exactly_and_an_unreadable_amount_is_a_reason_not_a_crash(engine: Engine) -> None:
    """The Numeric column type rounds on SQLite (0.005 → 0.01) and fails on text: the queue reads it raw."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        add_source(conn, "R1", amount=Decimal("12.50"))
        if sqlite:  # PostgreSQL's numeric(12,2) itself refuses these; a view over the app's tables may not
            add_source(conn, "R2", amount=Decimal("0.005"))
            add_source(conn, "R3", amount=Decimal("12.345"))
            add_source(conn, "R4", amount=Decimal("1e12"))
            add_source(conn, "R5")
            conn.execute(sa.text("UPDATE approved_records SET amount = 'abc' WHERE record_id = 'R5'"))
        records.intake(conn, "hlf", NOW)
        chunk = {r.record_id: r for r in records.queue_chunk(conn, "hlf", NOW, "", 10)}
    assert chunk["R1"].amount == Decimal("12.50") and chunk["R1"].amount_unreadable is None
    if sqlite:
        assert chunk["R2"].amount == Decimal("0.005")
        assert chunk["R3"].amount == Decimal("12.345")
        assert chunk["R4"].amount == Decimal("1e12")
        assert chunk["R5"].amount_unreadable == "amount is not a number"


def test_a_record_of_an_unknown_type_is_queued_for_every_run_so_that_it_is_skipped(engine: Engine) -> None:
    with engine.begin() as conn:
        add_source(conn, "R1")
        add_source(conn, "U1", record_type="bonus")
        records.intake(conn, "hlf", NOW)
        queued = records.queue_chunk(conn, "hlf", NOW, "", 10, record_types=["honorarium"])
        counted = records.count_queue(conn, "hlf", NOW, record_types=["reimbursement"])
    assert [r.record_id for r in queued] == ["U1"]
    assert counted == {"reimbursement": 1, "bonus": 1}


def test_including_a_type_again_reopens_only_its_records_skipped_for_that_code(engine: Engine) -> None:
    """Found by `skip_code`: a reason of other words with the same code counts, other codes do not."""
    skips = {
        "R1": (SkipCode.TYPE_NOT_INCLUDED, "honorarium", "excluded in the old words"),
        "R2": (
            SkipCode.NO_EMPLOYEE_NUMBER,
            "honorarium",
            "record type 'honorarium' is not included in this organization's sync",
        ),
        "R3": (SkipCode.TYPE_NOT_INCLUDED, "reimbursement", "record type 'reimbursement' is not included"),
    }
    with engine.begin() as conn:
        for rid, (_, record_type, _) in skips.items():
            add_source(conn, rid, record_type=record_type)
        records.intake(conn, "hlf", NOW)
        records.write_results(
            conn,
            [
                RecordResult(rid, "hlf", SyncStatus.SKIPPED, skip_reason=reason, skip_code=code)
                for rid, (code, _, reason) in skips.items()
            ],
            "run-1",
            "schedule",
            NOW,
        )
        written = dict(
            conn.execute(sa.select(record_sync_state.c.record_id, record_sync_state.c.skip_code)).all()
        )
        assert records.reopen_type_skips(conn, "hlf", ["honorarium"], NOW) == 1
        states = {
            r.record_id: (r.status, r.skip_code, r.skip_reason)
            for r in conn.execute(sa.select(record_sync_state).order_by(record_sync_state.c.record_id))
        }
    assert written == {rid: code.value for rid, (code, _, _) in skips.items()}
    assert states == {
        "R1": ("pending", None, None),
        "R2": ("skipped", "no_employee_number", skips["R2"][2]),
        "R3": ("skipped", "type_not_included", skips["R3"][2]),
    }
