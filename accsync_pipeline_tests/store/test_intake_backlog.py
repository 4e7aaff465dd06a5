"""The all-orgs backlog kept between reads answers what a full scan of the source answers, after every change.

Each step changes one thing the kept rows depend on (an approval, an edit, a withdrawal, an
intake, a run's outcome) and then compares the list's counts and the 48-hour rule's figures
with a scan of every source row joined to its state, ignoring the intake marks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.settings import parse_settings
from accsync_pipeline.domain.org import ConnectorType, OrgConfig
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import alerts as alert_store
from accsync_pipeline.store import intake_backlog, queue, records
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import approved_records, record_sync_state
from accsync_pipeline_tests.factories import NOW, add_sources

A, S = approved_records, record_sync_state
OLD = NOW - timedelta(days=3)  # past the 48-hour limit


def full_scan(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """Per org: pending (open waiting rows + everything intake would make pending) and failed."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pending": 0, "failed": 0})
    rows = conn.execute(sa.select(A.c.org_id, S.c.status, A.c.updated_at, S.c.source_updated_at).select_from(
        queue.source_with_state()))  # fmt: skip
    for org_id, status, updated, source_updated in rows:
        reopened = status in ("skipped", "failed") and updated > source_updated
        if status is None or reopened or status in ("pending", "in_flight"):
            counts[org_id]["pending"] += 1
        elif status == "failed":
            counts[org_id]["failed"] += 1
    return {k: v for k, v in counts.items() if v != {"pending": 0, "failed": 0}}


def overdue_scan(conn: sa.Connection) -> dict[str, tuple[int, datetime]]:
    """Per org, unexported records approved over 48 hours ago, by a scan of every source row."""
    found: dict[str, list[datetime]] = defaultdict(list)
    rows = conn.execute(sa.select(A.c.org_id, S.c.status, A.c.approved_at, A.c.updated_at,
                                  S.c.source_updated_at).select_from(queue.source_with_state()))  # fmt: skip
    for org_id, status, approved, updated, source_updated in rows:
        edited = status == "skipped" and updated > source_updated
        if (status in (None, "pending", "in_flight", "failed") or edited) and approved < NOW - timedelta(
            hours=48
        ):
            found[org_id].append(approved)
    return {org_id: (len(ats), min(ats)) for org_id, ats in found.items()}


def check(conn: sa.Connection) -> None:
    expected = full_scan(conn)
    counts = {k: v for k, v in queue.record_counts(conn, None).items() if v != {"pending": 0, "failed": 0}}
    assert counts == expected
    assert alert_store.overdue_pending(conn, NOW) == overdue_scan(conn)
    # Asked again with nothing changed: the kept rows answer the same.
    assert {
        k: v for k, v in queue.record_counts(conn, None).items() if v != {"pending": 0, "failed": 0}
    } == expected


def step(engine: Engine, change: Callable[[sa.Connection], object]) -> None:
    with engine.begin() as conn:
        change(conn)
    with engine.connect() as conn:
        check(conn)


def test_the_kept_backlog_equals_a_full_scan_after_every_kind_of_change(engine: Engine) -> None:
    intake_backlog.forget()
    settings = parse_settings(ConnectorType.DYNAMICS, {})

    def add_orgs(conn: sa.Connection) -> None:
        for org in ("a", "b"):
            org_store.insert_org(conn, OrgConfig(org, org.upper(), ConnectorType.DYNAMICS, settings), NOW)

    step(engine, add_orgs)
    step(engine, lambda conn: add_sources(conn, "a", 6, prefix="a", approved_at=OLD, updated_at=OLD))
    step(engine, lambda conn: add_sources(conn, "b", 3, prefix="b"))  # never taken in: every row counts
    step(engine, lambda conn: records.intake(conn, "a", NOW))
    step(engine, lambda conn: add_sources(conn, "a", 2, prefix="n", approved_at=OLD, updated_at=NOW))

    def outcomes(conn: sa.Connection) -> None:
        records.write_results(conn, [
            RecordResult("a00000", "a", SyncStatus.EXPORTED, external_id="BC-1"),
            RecordResult("a00001", "a", SyncStatus.FAILED, error="x", error_code="E", next_attempt_at=NOW),
            RecordResult("a00002", "a", SyncStatus.SKIPPED, skip_reason="no employee number"),
        ], "run-1", "schedule", NOW)  # fmt: skip

    step(engine, outcomes)
    # The app edits the failed and the skipped record: intake would make both pending again.
    edit = A.update().values(updated_at=NOW + timedelta(minutes=1))
    step(engine, lambda conn: conn.execute(edit.where(A.c.record_id.in_(["a00001", "a00002"]))))
    # Edited while in flight, then failed: reopened without any intake.
    step(
        engine,
        lambda conn: conn.execute(S.update().where(S.c.record_id == "a00003").values(status="in_flight")),
    )
    step(engine, lambda conn: conn.execute(edit.where(A.c.record_id == "a00003")))
    step(engine, lambda conn: records.write_results(conn, [
        RecordResult("a00003", "a", SyncStatus.FAILED, error="blocked", error_code="E", next_attempt_at=NOW)
    ], "run-2", "schedule", NOW))  # fmt: skip
    step(
        engine, lambda conn: conn.execute(A.delete().where(A.c.record_id.in_(["b00000", "n00000"])))
    )  # withdrawn
    step(engine, lambda conn: records.intake(conn, "b", NOW))
    step(engine, lambda conn: records.intake(conn, "a", NOW))
