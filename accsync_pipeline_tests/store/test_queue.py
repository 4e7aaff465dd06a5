"""The queue's clauses and readers that the intake and run tests do not reach, on SQLite and PostgreSQL.

State rows are written directly, so that each test sets exactly the statuses, runs and times
a clause decides on, including the boundaries (a retry due at `now`, an edit at the same
instant as the state's copy).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import queue
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_runs
from accsync_pipeline_tests.factories import NOW, add_source

HOUR = timedelta(hours=1)


def put_state(
    conn: sa.Connection, record_id: str, status: SyncStatus, org_id: str = "hlf", **values: Any
) -> None:
    """A state row for the source row `record_id` (its copy of the source's updated_at by default)."""
    row: dict[str, Any] = {
        "record_id": record_id,
        "org_id": org_id,
        "record_type": "reimbursement",
        "status": status,
        "approved_at": NOW - 2 * HOUR,
        "source_updated_at": NOW - HOUR,
        "updated_at": NOW,
    }
    row.update(values)
    conn.execute(record_sync_state.insert().values(**row))


def put_run(conn: sa.Connection, run_id: str, status: str, org_id: str = "hlf") -> None:
    conn.execute(
        sync_runs.insert().values(
            run_id=run_id, org_id=org_id, trigger="schedule", status=status, started_at=NOW
        )
    )


def test_records_in_flight_are_outcome_unknown_only_once_their_run_has_ended(engine: Engine) -> None:
    with engine.begin() as conn:
        put_run(conn, "live", "started")
        put_run(conn, "ended", "failed")
        put_run(conn, "other-ended", "failed", org_id="other")
        put_state(conn, "L1", SyncStatus.IN_FLIGHT, last_run_id="live")
        put_state(conn, "E1", SyncStatus.IN_FLIGHT, last_run_id="ended")
        put_state(conn, "E2", SyncStatus.IN_FLIGHT, last_run_id="ended")
        put_state(conn, "G1", SyncStatus.IN_FLIGHT, last_run_id="gone")  # its run row was never written
        put_state(conn, "P1", SyncStatus.PENDING, last_run_id="ended")
        put_state(conn, "F1", SyncStatus.FAILED, last_run_id="ended")
        put_state(conn, "O1", SyncStatus.IN_FLIGHT, org_id="other", last_run_id="other-ended")
        put_state(conn, "O2", SyncStatus.IN_FLIGHT, org_id="other", last_run_id="live")
        assert queue.outcome_unknown_counts(conn, None) == {"hlf": 3, "other": 1}
        assert queue.outcome_unknown_counts(conn, ["other"]) == {"other": 1}
        assert queue.outcome_unknown_counts(conn, ["none"]) == {}
        unknown = conn.execute(
            sa.select(record_sync_state.c.record_id).where(queue.outcome_unknown()).order_by("record_id")
        ).scalars()
        assert list(unknown) == ["E1", "E2", "G1", "O1"]


def test_the_first_due_retry_per_org_counts_failed_records_due_at_or_before_now(engine: Engine) -> None:
    with engine.begin() as conn:
        put_state(conn, "F1", SyncStatus.FAILED, next_attempt_at=NOW - HOUR)
        put_state(conn, "F2", SyncStatus.FAILED, next_attempt_at=NOW - 2 * HOUR)
        put_state(conn, "F3", SyncStatus.FAILED, next_attempt_at=NOW + HOUR)  # not due yet
        put_state(conn, "P1", SyncStatus.PENDING, next_attempt_at=NOW - 3 * HOUR)  # not failed
        put_state(conn, "O1", SyncStatus.FAILED, org_id="other", next_attempt_at=NOW)  # due at now exactly
        put_state(conn, "L1", SyncStatus.FAILED, org_id="later", next_attempt_at=NOW + HOUR)
        first = queue.first_due_by_org(conn, NOW)
    assert first == {"hlf": NOW - 2 * HOUR, "other": NOW}
    assert all(t.tzinfo is not None for t in first.values())


def _settled(conn: sa.Connection, status: SyncStatus) -> list[str]:
    query = (
        sa.select(record_sync_state.c.record_id)
        .select_from(queue.source_with_state())
        .where(queue.settled_as(status))
        .order_by(record_sync_state.c.record_id)
    )
    return list(conn.execute(query).scalars())


def test_a_record_is_settled_as_skipped_or_failed_until_the_app_edits_it(engine: Engine) -> None:
    with engine.begin() as conn:
        for record_id, status, edited in [
            ("S1", SyncStatus.SKIPPED, NOW - HOUR),  # the state's copy is the source's: settled
            ("S2", SyncStatus.SKIPPED, NOW - HOUR + timedelta(seconds=1)),  # edited since: reopened
            ("S3", SyncStatus.SKIPPED, NOW - 2 * HOUR),  # the state's copy is newer: settled
            ("F1", SyncStatus.FAILED, NOW - HOUR),
            ("F2", SyncStatus.FAILED, NOW),
        ]:
            add_source(conn, record_id, updated_at=edited)
            put_state(conn, record_id, status)
        assert _settled(conn, SyncStatus.SKIPPED) == ["S1", "S3"]
        assert _settled(conn, SyncStatus.FAILED) == ["F1"]


def _ids(rows: list[Any]) -> list[str]:
    return [r.record_id for r in rows]


def test_source_changes_read_after_a_position_and_the_late_rows_behind_it_not_taken_in(
    engine: Engine,
) -> None:
    at = NOW - HOUR
    with engine.begin() as conn:
        add_source(conn, "A", updated_at=at - 20 * timedelta(minutes=1))  # behind the overlap
        add_source(conn, "T", updated_at=at - 10 * timedelta(minutes=1))  # before the position, id after it
        add_source(conn, "U", updated_at=at - timedelta(minutes=5))  # at the overlap's edge: not late
        add_source(conn, "A5", updated_at=at - timedelta(minutes=1))  # late; its id sorts before B's
        add_source(conn, "B", updated_at=at - timedelta(minutes=4))  # late, never taken in
        add_source(conn, "C", updated_at=at - timedelta(minutes=3))  # late, taken in: not late
        put_state(conn, "C", SyncStatus.PENDING, source_updated_at=at - timedelta(minutes=3))
        add_source(conn, "D", updated_at=at - timedelta(minutes=2))  # late, failed and edited since
        put_state(conn, "D", SyncStatus.FAILED, source_updated_at=at - timedelta(minutes=9))
        add_source(conn, "M", updated_at=at)  # at the position, up to and including its record
        add_source(conn, "N", updated_at=at)  # same instant, after the position's record: changed
        add_source(conn, "K", updated_at=at)  # same instant, before it: not changed, late
        add_source(conn, "Z", updated_at=at + timedelta(minutes=1), org_id="other")
        put_state(conn, "Z", SyncStatus.EXPORTED, org_id="other")
        add_source(conn, "Y", updated_at=at + timedelta(minutes=2))

        late, changed = queue.source_changes(conn, (at, "M"), timedelta(minutes=5), 10)
        assert _ids(late) == ["B", "D", "A5", "K", "M"]
        assert _ids(changed) == ["N", "Z", "Y"]
        assert [(r.org_id, r.status) for r in changed] == [
            ("hlf", None),
            ("other", "exported"),
            ("hlf", None),
        ]
        assert changed[0].updated_at == at

        late, changed = queue.source_changes(conn, (at, "M"), timedelta(minutes=5), 2)
        assert (_ids(late), _ids(changed)) == (["B", "D"], ["N", "Z"])
        add_source(conn, "Q", updated_at=at + timedelta(minutes=3))  # one instant, written out of id order
        add_source(conn, "P", updated_at=at + timedelta(minutes=3))
        assert _ids(queue.source_changes(conn, (at, "M"), timedelta(minutes=5), 10)[1]) == [
            "N",
            "Z",
            "Y",
            "P",
            "Q",
        ]

        late, everything = queue.source_changes(conn, None, timedelta(minutes=5), 3)
        assert (late, _ids(everything)) == ([], ["A", "T", "U"])


def _without_the_source_order_index(conn: sa.Connection) -> None:
    """Drop the (updated_at, record_id) index, which hands SQLite its rows in that order.

    The order the sensor's cursor rests on must come from the query: read through that index,
    a query that forgot the tie-break on the id would still give rows of one instant in id order.
    Without it SQLite reads the table in the order the rows were written and sorts what it is told.
    """
    [index] = [
        i for i in approved_records.indexes if [c.name for c in i.columns] == ["updated_at", "record_id"]
    ]
    conn.execute(sa.schema.DropIndex(index))


def test_source_changes_of_one_instant_come_in_id_order_whatever_order_they_were_written(
    engine: Engine,
) -> None:
    at = NOW - HOUR
    with engine.begin() as conn:
        _without_the_source_order_index(conn)
        for record_id in ("L9", "L3", "L7", "L1"):  # late: behind the position, never taken in
            add_source(conn, record_id, updated_at=at - timedelta(minutes=1))
        for record_id in ("M", "Z", "C", "X", "D"):  # the position's instant, written out of id order
            add_source(conn, record_id, updated_at=at)

        late, changed = queue.source_changes(conn, (at, "M"), timedelta(minutes=5), 10)
        assert (_ids(late), _ids(changed)) == (["L1", "L3", "L7", "L9", "C", "D", "M"], ["X", "Z"])
        late, changed = queue.source_changes(conn, (at, "M"), timedelta(minutes=5), 3)
        assert (_ids(late), _ids(changed)) == (["L1", "L3", "L7"], ["X", "Z"])
        # From the start, a page ends inside an instant: the cursor must name the page's last row.
        late, page = queue.source_changes(conn, None, timedelta(minutes=5), 6)
        assert (late, _ids(page)) == ([], ["L1", "L3", "L7", "L9", "C", "D"])
        _, page = queue.source_changes(conn, (page[-1].updated_at, page[-1].record_id), timedelta(0), 6)
        assert _ids(page) == ["M", "X", "Z"]


def _unordered_reads_reversed(conn: sa.Connection) -> None:
    """On SQLite, make a query without ORDER BY return its rows in the reverse of its plan's order.

    SQLite's own aid (PRAGMA reverse_unordered_selects) for finding code that relies on an order it
    never asked for: the plan would otherwise read the (org_id, record_id) index in id order anyway.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA reverse_unordered_selects = ON")


def test_a_run_pages_through_the_queue_in_id_order(engine: Engine) -> None:
    ids = ["Q4", "Q1", "Q5", "Q2", "Q3"]
    with engine.begin() as conn:
        _unordered_reads_reversed(conn)
        for record_id in ids:
            add_source(conn, record_id)
            put_state(conn, record_id, SyncStatus.PENDING)
        pages: list[list[str]] = []
        after = ""
        for _ in range(4):  # a fixed number of reads, so that a broken keyset fails instead of looping
            pages.append([q.record.record_id for q in queue.read_queue(conn, "hlf", NOW, after, 2)])
            after = pages[-1][-1] if pages[-1] else after
        assert pages == [["Q1", "Q2"], ["Q3", "Q4"], ["Q5"], []]


def test_the_clauses_tell_due_from_waiting_and_reopened(engine: Engine) -> None:
    now: datetime = NOW
    with engine.begin() as conn:
        add_source(conn, "P")
        put_state(conn, "P", SyncStatus.PENDING)
        add_source(conn, "I")
        put_state(conn, "I", SyncStatus.IN_FLIGHT)
        add_source(conn, "D")
        put_state(conn, "D", SyncStatus.FAILED, next_attempt_at=now)
        add_source(conn, "W")
        put_state(conn, "W", SyncStatus.FAILED, next_attempt_at=now + HOUR)
        add_source(conn, "E", updated_at=now)
        put_state(conn, "E", SyncStatus.FAILED, next_attempt_at=now + HOUR)  # edited since it failed
        add_source(conn, "S")
        put_state(conn, "S", SyncStatus.SKIPPED)
        add_source(conn, "X", updated_at=now)
        put_state(conn, "X", SyncStatus.EXPORTED)  # edited after export: never reopened
        add_source(conn, "N")  # never taken in

        def matching(clause: sa.ColumnElement[bool]) -> list[str]:
            query = sa.select(queue.A.c.record_id).select_from(queue.source_with_state()).where(clause)
            return sorted(str(record_id) for record_id in conn.execute(query).scalars())

        assert matching(queue.due(now)) == ["D"]
        assert matching(queue.waiting_or_due(now)) == ["D", "I", "P"]
        assert matching(queue.reopened_by_edit()) == ["E"]
        assert matching(queue.awaiting_intake()) == ["E", "N"]
        assert matching(queue.next_sync(now)) == ["D", "E", "I", "N", "P"]
        assert matching(queue.pending_view()) == ["E", "I", "N", "P"]


# --- the counts screens read without taking anything in: three orgs and a source row of no org ---

MINUTE = timedelta(minutes=1)
HLF_MARK = NOW - timedelta(days=2) - queue.MARK_MARGIN
NFO_MARK = NOW - timedelta(days=1) - queue.MARK_MARGIN
DUE = NOW - HOUR
NOT_DUE = NOW + HOUR


def _edit(conn: sa.Connection, record_id: str, **values: Any) -> None:
    conn.execute(sa.update(queue.A).where(queue.A.c.record_id == record_id).values(**values))


def _set_state(conn: sa.Connection, record_id: str, **values: Any) -> None:
    conn.execute(sa.update(queue.S).where(queue.S.c.record_id == record_id).values(**values))


def three_orgs(conn: sa.Connection) -> None:
    """`nfo` and `hlf` taken in (nfo first: its mark is the first row), `new` never, `ghost` no org.

    hlf: H1 failed and due, then edited to an honorarium (state type reimbursement); H2 failed,
    not due, edited; H3 skipped, not edited; H6 in flight; H7 pending; H4 (honorarium), H5 and
    H8 came after the mark, H8 before nfo's mark; H9 is written at the mark exactly.
    nfo: N1 pending; N3 taken in as an honorarium, failed and due, then edited to a reimbursement.
    new: W1, W2 reimbursements and W3 an honorarium, never taken in.
    """
    from accsync_pipeline.connectors.settings import parse_settings
    from accsync_pipeline.domain.org import ConnectorType, OrgConfig
    from accsync_pipeline.store import orgs as org_store

    settings = parse_settings(ConnectorType.DYNAMICS, {})
    for org_id in ("nfo", "hlf", "new"):
        org_store.insert_org(conn, OrgConfig(org_id, org_id.upper(), ConnectorType.DYNAMICS, settings), NOW)
    add_source(conn, "N1", "nfo", updated_at=NOW - timedelta(days=1))
    add_source(conn, "N3", "nfo", updated_at=NOW - timedelta(days=1), record_type="honorarium")
    queue.intake(conn, "nfo", NOW)
    _set_state(conn, "N3", status=SyncStatus.FAILED, next_attempt_at=DUE)
    _edit(conn, "N3", updated_at=NOW - MINUTE, record_type="reimbursement")
    for record_id in ("H1", "H2", "H3", "H6", "H7"):
        add_source(conn, record_id, updated_at=NOW - timedelta(days=2))
    queue.intake(conn, "hlf", NOW)
    _set_state(conn, "H1", status=SyncStatus.FAILED, next_attempt_at=DUE, consecutive_failures=2)
    _set_state(conn, "H2", status=SyncStatus.FAILED, next_attempt_at=NOT_DUE, consecutive_failures=1)
    _set_state(conn, "H3", status=SyncStatus.SKIPPED)
    _set_state(conn, "H6", status=SyncStatus.IN_FLIGHT)
    _edit(conn, "H1", updated_at=NOW - 30 * MINUTE, record_type="honorarium")
    _edit(conn, "H2", updated_at=NOW - 10 * MINUTE)
    add_source(conn, "H4", updated_at=NOW - MINUTE, record_type="honorarium")
    add_source(conn, "H5", updated_at=NOW - MINUTE)
    add_source(conn, "H8", updated_at=NOW - timedelta(days=2))
    add_source(conn, "H9", updated_at=HLF_MARK)
    for record_id in ("W1", "W2"):
        add_source(conn, record_id, "new", updated_at=NOW - timedelta(days=3))
    add_source(conn, "W3", "new", updated_at=NOW - timedelta(days=3), record_type="honorarium")
    add_source(conn, "G1", "ghost")


R, H, F = "reimbursement", "honorarium", SyncStatus.FAILED
HLF_AWAITING = [("hlf", H, F, R, DUE, 1), ("hlf", R, F, R, NOT_DUE, 1), ("hlf", H, None, None, None, 1)]
HLF_AWAITING += [("hlf", R, None, None, None, 2)]
NFO_AWAITING = [("nfo", R, F, H, DUE, 1)]
NEW_AWAITING = [("new", H, None, None, None, 1), ("new", R, None, None, None, 2)]


def _ungrouped(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(org, source_type, status, None, None, n) for (org, source_type, status, _, _, n) in rows]


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def test_what_awaits_intake_is_counted_after_each_orgs_mark_and_for_never_taken_in_orgs(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        three_orgs(conn)
        marks = conn.execute(sa.select(queue.M.c.org_id, queue.M.c.recount_after)).all()
        assert dict(marks) == {"nfo": NFO_MARK, "hlf": HLF_MARK}
        every = HLF_AWAITING + NFO_AWAITING + NEW_AWAITING
        assert _sorted(queue.awaiting_intake_counts(conn, None, group_by_type=True)) == _sorted(every)
        assert _sorted(queue.awaiting_intake_counts(conn, None)) == _sorted(_ungrouped(every))
        assert _sorted(queue.awaiting_intake_counts(conn, ["hlf"], group_by_type=True)) == _sorted(
            HLF_AWAITING
        )
        assert _sorted(queue.awaiting_intake_counts(conn, ["hlf"])) == _sorted(_ungrouped(HLF_AWAITING))
        assert _sorted(queue.awaiting_intake_counts(conn, ["new", "nfo"])) == _sorted(
            _ungrouped(NFO_AWAITING + NEW_AWAITING)
        )
        assert queue.awaiting_intake_counts(conn, ["ghost"]) == []
        # Rows intake has seen by its mark are not counted again, whichever org's mark is the earliest;
        # an org without a mark may still have state rows from before marks were kept.
        add_source(conn, "N9", "nfo", updated_at=NFO_MARK)
        add_source(conn, "N5", "nfo", updated_at=NOW - timedelta(days=1, hours=12))
        add_source(conn, "W4", "new", updated_at=NOW - timedelta(days=3))
        put_state(conn, "W4", SyncStatus.EXPORTED, org_id="new", source_updated_at=NOW - timedelta(days=3))
        assert _sorted(queue.awaiting_intake_counts(conn, None, group_by_type=True)) == _sorted(every)


def test_record_counts_for_some_orgs_and_for_all_agree(engine: Engine) -> None:
    with engine.begin() as conn:
        three_orgs(conn)
        hlf = {"pending": 7, "failed": 0}  # H6, H7 waiting; H1, H2 reopened by edits; H4, H5, H8 new
        nfo = {"pending": 2, "failed": 0}
        new = {"pending": 3, "failed": 0}
        assert queue.record_counts(conn, ["hlf"]) == {"hlf": hlf}
        assert queue.record_counts(conn, ["nfo", "new"]) == {"nfo": nfo, "new": new}
        assert queue.record_counts(conn, None) == {"hlf": hlf, "nfo": nfo, "new": new}
        _edit(conn, "H1", updated_at=NOW - 2 * timedelta(days=2))  # no longer edited: failed again
        assert queue.record_counts(conn, ["hlf"]) == {"hlf": {"pending": 6, "failed": 1}}


def test_the_next_sync_counts_each_record_once_under_the_type_it_will_be_sent_as(engine: Engine) -> None:
    with engine.begin() as conn:
        three_orgs(conn)
        # H1 is due and edited: counted once, as the honorarium intake makes it.
        assert queue.next_sync_by_type(conn, "hlf", NOW) == {R: 5, H: 2}
        assert queue.next_sync_by_type(conn, "hlf", NOW, record_types=[H]) == {H: 2}
        assert queue.next_sync_by_type(conn, "nfo", NOW) == {R: 2}  # N3's honorarium count nets to 0
        assert queue.next_sync_by_type(conn, "new", NOW) == {R: 2, H: 1}
        assert queue.next_sync_by_type(conn, "new", NOW, record_types=[R, "unknown"]) == {R: 2}


def _ids_of(conn: sa.Connection, query: sa.Select[tuple[str]]) -> list[str]:
    return sorted(str(record_id) for record_id in conn.execute(query).scalars())


def test_id_lists_read_each_orgs_own_rows_after_its_own_mark(engine: Engine) -> None:
    with engine.begin() as conn:
        three_orgs(conn)
        assert _ids_of(conn, queue.awaiting_intake_ids(conn, "hlf")) == ["H1", "H2", "H4", "H5", "H8"]
        assert _ids_of(conn, queue.awaiting_intake_ids(conn, "new")) == ["W1", "W2", "W3"]
        assert _ids_of(conn, queue.pending_ids(conn, "hlf")) == ["H1", "H2", "H4", "H5", "H6", "H7", "H8"]
        # Open rows and what intake adds, each read on its own: a reopened failure is in both.
        candidates = ["H1", "H1", "H2", "H2", "H4", "H5", "H6", "H7", "H8"]
        assert _ids_of(conn, queue.next_sync_candidates(conn, "hlf")) == candidates
        assert _ids_of(conn, queue.pending_ids(conn, "nfo")) == ["N1", "N3"]


def test_a_run_reads_pending_and_due_records_with_their_failure_counts(engine: Engine) -> None:
    with engine.begin() as conn:
        three_orgs(conn)
        queued = queue.read_queue(conn, "hlf", NOW, "", 10)
        assert [(q.record.record_id, q.record.record_type, q.prior_failures) for q in queued] == [
            ("H1", H, 2),  # the record as the source has it now
            ("H7", R, 0),
        ]
        assert [q.record.record_id for q in queue.read_queue(conn, "hlf", NOW, "", 1)] == ["H1"]
        # The app re-approves H1 later: the queue still gives the approval intake first took in.
        first_approval = conn.execute(
            sa.select(record_sync_state.c.approved_at).where(record_sync_state.c.record_id == "H1")
        ).scalar_one()
        _edit(conn, "H1", approved_at=NOW - MINUTE)
        (again,) = queue.read_queue(conn, "hlf", NOW, "", 1)
        assert (again.record.approved_at, again.first_approved_at) == (NOW - MINUTE, first_approval)
        assert first_approval is not None and first_approval < NOW - MINUTE
        assert [q.record_id for q in queue.queue_chunk(conn, "hlf", NOW, "", 10, record_ids=["H7"])] == ["H7"]
        assert [q.record.record_id for q in queue.read_queue(conn, "hlf", NOW, "", 10, None, ["H7"])] == [
            "H7"
        ]
        assert queue.count_queue(conn, "hlf", NOW, record_ids=["H1"]) == {R: 1}
        assert queue.in_flight_types(conn, "hlf") == {"H6": R}
        assert queue.in_flight_approvals(conn, "hlf") == {"H6": (R, NOW - HOUR)}  # as the source row says
        assert queue.in_flight(conn, "nfo") == []
        put_state(conn, "X6", SyncStatus.IN_FLIGHT, org_id="nfo", record_type=H, approved_at=NOW - 3 * HOUR)
        put_state(conn, "X5", SyncStatus.IN_FLIGHT, org_id="nfo", approved_at=NOW - 4 * HOUR)
        put_state(conn, "X4", SyncStatus.PENDING, org_id="nfo")
        assert queue.in_flight_approvals(conn, "nfo") == {
            "X5": (R, NOW - 4 * HOUR),
            "X6": (H, NOW - 3 * HOUR),
        }


def test_intake_reopens_an_edited_record_as_the_source_has_it_now(engine: Engine) -> None:
    later = NOW + HOUR
    with engine.begin() as conn:
        add_source(conn, "R1")
        add_source(conn, "R2")
        queue.intake(conn, "hlf", NOW)
        _set_state(conn, "R1", status=SyncStatus.SKIPPED, skip_reason="no employee number", skip_code="X")
        _set_state(conn, "R2", status=SyncStatus.FAILED, next_attempt_at=NOT_DUE, consecutive_failures=1)
        _edit(conn, "R1", updated_at=NOW + MINUTE, record_type="honorarium")
        _edit(conn, "R2", updated_at=NOW + 2 * MINUTE)
        add_source(conn, "R3", updated_at=NOW + MINUTE)  # new, taken in by the same intake
        assert queue.intake(conn, "hlf", later) == 3
        columns = [queue.S.c[c] for c in ("record_id", "status", "record_type", "source_updated_at")]
        columns += [queue.S.c[c] for c in ("skip_reason", "skip_code", "next_attempt_at", "updated_at")]
        states = conn.execute(sa.select(*columns).order_by(queue.S.c.record_id)).all()
        assert [tuple(s) for s in states] == [
            ("R1", "pending", H, NOW + MINUTE, None, None, None, later),
            ("R2", "pending", R, NOW + 2 * MINUTE, None, None, None, later),
            ("R3", "pending", R, NOW + MINUTE, None, None, None, later),
        ]
        # Stored as intake stores a new record's, so that comparisons with the source's time hold.
        raw = sa.text(
            "SELECT record_id, source_updated_at FROM record_sync_state WHERE record_id IN ('R1', 'R3')"
        )
        (_, reopened), (_, new) = sorted(conn.execute(raw).all())
        assert reopened == new
        assert queue.intake(conn, "hlf", later) == 0
