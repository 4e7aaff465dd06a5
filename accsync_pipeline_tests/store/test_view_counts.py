"""The status screen's counts: each tab is the size of its list, each list's total and money cover it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import queue, records
from accsync_pipeline.store.record_search import (
    RecordSearch,
    RecordView,
    count_records,
    page_of_records,
    total_and_money,
    view_counts,
)
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import approved_records
from accsync_pipeline_tests.factories import NOW, add_sources

EDITED = NOW + timedelta(hours=1)


@pytest.fixture
def mixed(engine: Engine) -> list[str]:
    """HLF: 3 exported (one edited since), 2 failed and 2 skipped (one of each edited since), 5
    taken in and waiting, 2 new after the intake mark; Other's records beside them."""
    with engine.begin() as conn:
        for org_id in ("hlf", "other"):
            org_store.insert_org(conn, OrgConfig(org_id, org_id.upper(), "dynamics", {}), NOW)
        ids = add_sources(conn, "hlf", 12, updated_at=NOW - timedelta(days=2))
        add_sources(conn, "other", 4, prefix="X", updated_at=NOW - timedelta(days=2))
        records.intake(conn, "hlf", NOW)
        records.intake(conn, "other", NOW)
        exported = [RecordResult(rid, "hlf", SyncStatus.EXPORTED, external_id=f"BC-{rid}") for rid in ids[:3]]
        failed = [RecordResult(r, "hlf", SyncStatus.FAILED, error="E", next_attempt_at=NOW) for r in ids[3:5]]
        skipped = [RecordResult(rid, "hlf", SyncStatus.SKIPPED, skip_reason="no account") for rid in ids[5:7]]
        records.write_results(conn, exported + failed + skipped, "run-1", "manual", NOW)
        edited = [ids[0], ids[3], ids[5]]  # an exported record stays exported; the others reopen
        conn.execute(
            approved_records.update()
            .where(approved_records.c.record_id.in_(edited))
            .values(updated_at=EDITED)
        )
        add_sources(conn, "hlf", 2, prefix="N", updated_at=EDITED)
    return ids


def test_each_tab_counts_what_its_list_shows(engine: Engine, mixed: list[str]) -> None:
    with engine.connect() as conn:
        counts = view_counts(conn, "hlf")
        listed = {view: count_records(conn, RecordSearch("hlf", view)) for view in RecordView}
    assert {v.value: n for v, n in counts.items()} == {
        "failed": 1, "pending": 9, "skipped": 1, "exported": 3, "all": 14,
    }  # fmt: skip
    assert counts == listed


def test_the_tabs_take_the_queue_counts_the_status_has_read(engine: Engine, mixed: list[str]) -> None:
    with engine.connect() as conn:
        queued = queue.record_counts(conn, ["hlf"])["hlf"]
        assert view_counts(conn, "hlf", queued) == view_counts(conn, "hlf")
        assert queued == {"pending": 9, "failed": 1}
        # What the caller says is what the tabs show: the queue is not counted a second time.
        given = view_counts(conn, "hlf", {"pending": 10, "failed": 0})
    assert (given[RecordView.PENDING], given[RecordView.FAILED], given[RecordView.EXPORTED]) == (10, 0, 3)


def test_counts_read_a_moment_before_a_sync_moved_records_leave_no_negative_tab(
    engine: Engine, mixed: list[str]
) -> None:
    with engine.connect() as conn:
        # Read before the sync settled records: more pending than the org now has unexported.
        stale = view_counts(conn, "hlf", {"pending": 13, "failed": 1})
    assert (stale[RecordView.PENDING], stale[RecordView.EXPORTED], stale[RecordView.ALL]) == (13, 0, 14)


def test_an_org_without_records_has_empty_tabs(engine: Engine, mixed: list[str]) -> None:
    with engine.begin() as conn:
        org_store.insert_org(conn, OrgConfig("new", "New", "dynamics", {}), NOW)
    with engine.connect() as conn:
        assert set(view_counts(conn, "new").values()) == {0}
        assert conn.execute(sa.select(sa.func.count()).select_from(approved_records)).scalar_one() == 18


def test_a_lists_total_and_money_count_and_sum_every_matching_record_per_currency(
    engine: Engine, mixed: list[str]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            approved_records.update()
            .where(approved_records.c.record_id.in_(mixed[7:9]))
            .values(currency="EUR", amount=Decimal("10.05"))
        )
    with engine.connect() as conn:
        for view in RecordView:
            search = RecordSearch("hlf", view)
            rows = conn.execute(
                sa.select(approved_records.c.currency, approved_records.c.amount).where(
                    approved_records.c.record_id.in_(_ids(conn, search))
                )
            ).all()
            expected: dict[str, Decimal] = {}
            for currency, amount in rows:
                expected[currency] = expected.get(currency, Decimal(0)) + Decimal(amount)
            assert total_and_money(conn, search) == (count_records(conn, search), expected), view
        assert total_and_money(conn, RecordSearch("hlf", RecordView.PENDING))[1]["EUR"] == Decimal("20.10")
        assert total_and_money(conn, RecordSearch("hlf", text="no such text")) == (0, {})


def _ids(conn: sa.Connection, search: RecordSearch) -> list[str]:
    """The ids on the view's list, every one on one page."""
    return [row["record_id"] for row in page_of_records(conn, RecordSearch("hlf", search.view, limit=100))]


def test_the_tabs_read_one_statement_and_walk_no_record_against_its_state(
    engine: Engine, mixed: list[str]
) -> None:
    """Every record through the join to its state was 40 ms a page for a 50,000-record org."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    with engine.connect() as conn:
        queued = queue.record_counts(conn, ["hlf"])["hlf"]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            view_counts(conn, "hlf", queued)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1, seen
    assert "OUTER JOIN" not in seen[0]
    # The join reads the skipped state rows only: their status is in its condition.
    assert "record_sync_state.status =" in seen[0]
