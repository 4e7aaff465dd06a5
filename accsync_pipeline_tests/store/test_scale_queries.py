"""Queries shaped for a thousand orgs and a million records: rules that break silently otherwise.

A slow query is still a correct one, so these tests check the shape instead of timing it:
statements per flush, the join condition, what PostgreSQL's plan reads, what intake marks hide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import queue as pending
from accsync_pipeline.store import records
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import org_intake_marks, record_sync_state, sync_attempts
from accsync_pipeline_tests.factories import NOW, add_sources

S = record_sync_state


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def outcomes(ids: list[str]) -> list[RecordResult]:
    kinds = [
        lambda rid: RecordResult(rid, "hlf", SyncStatus.EXPORTED, external_id=f"BC-{rid}"),
        lambda rid: RecordResult(
            rid, "hlf", SyncStatus.FAILED, error="blocked", error_code="E", next_attempt_at=NOW
        ),
        lambda rid: RecordResult(rid, "hlf", SyncStatus.SKIPPED, skip_reason="no employee number"),
    ]
    return [kinds[i % 3](rid) for i, rid in enumerate(ids)]


@pytest.mark.parametrize("size", [3, 300])
def test_a_flush_of_outcomes_takes_the_same_three_statements_whatever_its_size(
    engine: Engine, size: int
) -> None:
    with engine.begin() as conn:
        ids = add_sources(conn, "hlf", size)
        records.intake(conn, "hlf", NOW)
    with engine.begin() as conn, statements(engine) as seen:
        records.write_results(conn, outcomes(ids), "run-1", "manual", NOW)
    assert len(seen) == 3, seen
    with engine.connect() as conn:
        rows = {r.record_id: r for r in conn.execute(sa.select(S))}
        logged = conn.execute(sa.select(sa.func.count()).select_from(sync_attempts)).scalar_one()
    assert logged == size
    exported, failed, skipped = rows[ids[0]], rows[ids[1]], rows[ids[2]]
    assert (exported.status, exported.external_id, exported.attempt_count) == ("exported", "BC-" + ids[0], 1)
    assert (failed.status, failed.consecutive_failures, failed.last_error, failed.next_attempt_at) == (
        "failed", 1, "blocked", NOW
    )  # fmt: skip
    assert (skipped.status, skipped.skip_reason, skipped.attempt_count) == (
        "skipped",
        "no employee number",
        0,
    )


def test_a_later_export_resolves_the_failed_attempts_and_keeps_what_each_outcome_leaves_alone(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        [rid] = add_sources(conn, "hlf", 1)
        records.intake(conn, "hlf", NOW)
        records.write_results(conn, outcomes(["x", rid])[1:], "run-1", "manual", NOW)  # failed
        records.write_results(
            conn, [RecordResult(rid, "hlf", SyncStatus.EXPORTED, external_id="BC-1")], "run-2", "retry", NOW
        )
        state = conn.execute(sa.select(S).where(S.c.record_id == rid)).one()
        failed = conn.execute(sa.select(sync_attempts).where(sync_attempts.c.outcome == "failed")).one()
    assert (state.status, state.consecutive_failures, state.attempt_count, state.next_attempt_at) == (
        "exported", 0, 2, None
    )  # fmt: skip
    assert state.last_error == "blocked"  # the history of the last failure stays readable
    assert failed.resolved_by_run_id == "run-2"


def test_joins_from_the_source_to_the_state_carry_the_org(engine: Engine) -> None:
    with engine.begin() as conn:
        add_sources(conn, "hlf", 3)
        add_sources(conn, "other", 3, prefix="X")
        records.intake(conn, "hlf", NOW)
    with engine.connect() as conn, statements(engine) as seen:
        records.intake(conn, "other", NOW)
        pending.record_counts(conn, ["hlf"])
        pending.next_sync_by_type(conn, "hlf", NOW)
        records.queue_chunk(conn, "hlf", NOW, "", 10)
    joins = [s for s in seen if "JOIN record_sync_state" in s or "JOIN approved_records" in s]
    assert joins
    for sql in joins:
        assert "record_sync_state.org_id = approved_records.org_id" in sql, sql


def test_counts_read_only_what_came_after_the_intake_mark_and_stay_right(engine: Engine) -> None:
    with engine.begin() as conn:
        add_sources(conn, "hlf", 4, updated_at=NOW - timedelta(days=2))
        assert pending.record_counts(conn, ["hlf"]) == {}  # no org row: not an org of ours
    from accsync_pipeline.domain.org import OrgConfig
    from accsync_pipeline.store import orgs as org_store

    with engine.begin() as conn:
        org_store.insert_org(conn, OrgConfig("hlf", "HLF", "dynamics", {}), NOW)
        assert pending.record_counts(conn, None)["hlf"]["pending"] == 4  # never taken in: every row counts
        records.intake(conn, "hlf", NOW)
        mark = conn.execute(sa.select(org_intake_marks.c.recount_after)).scalar_one()
        assert mark == NOW - timedelta(days=2) - records.MARK_MARGIN
        add_sources(conn, "hlf", 2, prefix="N", updated_at=NOW)
        assert pending.record_counts(conn, None)["hlf"] == {"pending": 6, "failed": 0}
        assert pending.next_sync_by_type(conn, "hlf", NOW) == {"reimbursement": 6}


@pytest.fixture
def postgres_engine(postgres_schema_url: str) -> Iterator[Engine]:
    from accsync_pipeline.store.engine import create_engine
    from accsync_pipeline.store.migrate import upgrade

    engine = create_engine(postgres_schema_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_postgres_counts_every_org_from_the_open_records_index_not_the_table(postgres_engine: Engine) -> None:
    with postgres_engine.begin() as conn:
        for org in ("a", "b"):
            add_sources(conn, org, 200, prefix=f"{org}-")
            records.intake(conn, org, NOW)
        conn.execute(S.update().where(S.c.record_id.like("%1")).values(status="exported"))
    with postgres_engine.connect() as conn, statements(postgres_engine) as seen:
        pending.record_counts(conn, None)
    state_count = next(
        s for s in seen if s.startswith("SELECT record_sync_state.org_id, record_sync_state.status")
    )
    with postgres_engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        # Small tables make a sequential scan cheapest; forbid it to see which index the query can use.
        conn.execute(sa.text("SET enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.exec_driver_sql(
                "EXPLAIN " + state_count,
                {"status_1_1": "pending", "status_1_2": "in_flight", "status_1_3": "failed"},
            )
        )
    assert "ix_record_sync_state_open_org_id_status" in plan, plan


@pytest.mark.postgres
def test_postgres_reads_one_orgs_state_rows_by_its_org_index(postgres_engine: Engine) -> None:
    with postgres_engine.begin() as conn:
        for org in ("a", "b"):
            add_sources(conn, org, 200, prefix=f"{org}-")
            records.intake(conn, org, NOW)
    with postgres_engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.execute(sa.text("SET enable_seqscan = off"))
        query = sa.select(sa.func.count()).select_from(
            records.A.outerjoin(S, records.state_of_source())
        ).where(records.A.c.org_id == "a", records.awaiting_intake())  # fmt: skip
        plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + str(query.compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})))))  # fmt: skip
    # The state side is read by org (an org_id index condition), never probed by record id alone.
    lines = plan.splitlines()
    scans = [i for i, line in enumerate(lines) if "on record_sync_state" in line]
    assert scans, plan
    for i in scans:
        assert "pk_record_sync_state" not in lines[i], plan
        assert "Cond: ((org_id)::text = 'a'::text)" in lines[i + 1], plan


def test_the_pending_list_and_the_next_sync_read_by_id_from_the_queue_the_records_a_full_scan_finds(
    engine: Engine,
) -> None:
    from accsync_pipeline.connectors.settings import parse_settings
    from accsync_pipeline.domain.org import ConnectorType, OrgConfig
    from accsync_pipeline.store import orgs as org_store
    from accsync_pipeline.store import record_search as rs
    from accsync_pipeline.store.schema import approved_records

    settings = parse_settings(ConnectorType.DYNAMICS, {})
    with engine.begin() as conn:
        org_store.insert_org(conn, OrgConfig("hlf", "HLF", ConnectorType.DYNAMICS, settings), NOW)
        ids = add_sources(conn, "hlf", 12, updated_at=NOW - timedelta(days=2))
        records.intake(conn, "hlf", NOW - timedelta(days=1))
        # Exported, failed and due, skipped; then a failure not due yet, and two left pending.
        records.write_results(conn, outcomes(ids[:9]), "run-1", "schedule", NOW - timedelta(hours=2))
        later = RecordResult(
            ids[9], "hlf", SyncStatus.FAILED, error="blocked", next_attempt_at=NOW + timedelta(hours=1)
        )
        records.write_results(conn, [later], "run-2", "schedule", NOW - timedelta(hours=1))
        # The app edits a skipped and a failed record (intake reopens them), and approves two more.
        edited = [ids[1], ids[2]]
        conn.execute(
            approved_records.update().where(approved_records.c.record_id.in_(edited)).values(updated_at=NOW)
        )
        add_sources(conn, "hlf", 2, prefix="N", updated_at=NOW)

        search = rs.RecordSearch(org_id="hlf", view=rs.RecordView.PENDING)
        full_scan = sa.select(sa.func.count()).select_from(rs._joined()).where(*rs._clauses(search))
        assert rs.count_records(conn, search) == conn.execute(full_scan).scalar_one() == 2 + 2 + 2
        all_money = (
            sa.select(sa.func.sum(approved_records.c.amount))
            .select_from(rs._joined())
            .where(*rs._clauses(search))
        )
        total, money = rs.total_and_money(conn, search)
        assert (total, sum(money.values())) == (6, conn.execute(all_money).scalar_one())
        # The next sync adds the failure that is due (ids[4], ids[7]) but not the one due later.
        next_money = (
            sa.select(sa.func.sum(approved_records.c.amount))
            .select_from(rs._joined())
            .where(approved_records.c.org_id == "hlf", pending.next_sync(NOW))
        )
        expected = conn.execute(next_money).scalar_one()
        assert sum(rs.money_of_next_sync(conn, "hlf", NOW).values()) == expected
        assert sum(pending.next_sync_by_type(conn, "hlf", NOW).values()) == 2 + 2 + 2 + 2
