"""The queue: what counts as waiting to be posted, how records enter it, and how a run reads it.

A record is queued when it is pending (or in flight, until a lookup resolves it), when it
failed and its automatic retry is due, or when the app edited it after it was skipped or
failed ("reopened by an edit"). Intake writes a state row for each new source record and
reopens the edited ones; screens must not write when they read, so the counts here also
count what intake *would* do. Every caller asks this module; no other module spells these
conditions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accsync_pipeline.domain.records import ApprovedRecord, RecordType, SyncStatus
from accsync_pipeline.store.schema import (
    approved_records,
    org_intake_marks,
    organizations,
    record_sync_state,
    sync_runs,
)
from accsync_pipeline.store.source_rows import parse_source_row, source_columns
from accsync_pipeline.store.types import UtcDateTime

S = record_sync_state
A = approved_records
M = org_intake_marks
R = sync_runs

# Records in flight are not posted yet: the next run resolves them by lookup.
WAITING_STATUSES = (SyncStatus.PENDING, SyncStatus.IN_FLIGHT)
# The statuses the partial index of open records covers.
OPEN_STATUSES = (*WAITING_STATUSES, SyncStatus.FAILED)
# How far behind an org's intake mark a late-committing transaction may have written its
# updated_at; rows in that margin are looked at again (the approval sensor uses the same window).
MARK_MARGIN = timedelta(minutes=5)


# --- the clauses (over `approved_records` outer-joined to `record_sync_state`) ---


def state_of_source() -> sa.ColumnElement[bool]:
    """The join condition from a source row to its state row: record AND org.

    With `org_id` in the condition a per-org query reads only that org's state rows (through the
    (org_id, record_id) index) instead of probing or hashing the whole state table.
    """
    return sa.and_(S.c.record_id == A.c.record_id, S.c.org_id == A.c.org_id)


def source_with_state() -> sa.FromClause:
    """Every source row with its state row, if it has one."""
    return A.outerjoin(S, state_of_source())


def reopened_by_edit() -> sa.ColumnElement[bool]:
    """Skipped or failed, and edited by the app since: intake makes it pending again.

    An exported record is never reopened by an edit: it is in the ledger already.
    """
    return sa.and_(
        S.c.status.in_([SyncStatus.SKIPPED, SyncStatus.FAILED]),
        A.c.updated_at > S.c.source_updated_at,
    )


def settled_as(status: SyncStatus) -> sa.ColumnElement[bool]:
    """In `status` (skipped or failed) and not reopened by an edit since."""
    return sa.and_(S.c.status == status, A.c.updated_at <= S.c.source_updated_at)


def awaiting_intake() -> sa.ColumnElement[bool]:
    """Source rows that intake would make pending: never taken in, or reopened by an edit."""
    return sa.or_(S.c.record_id.is_(None), reopened_by_edit())


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Failed, and its automatic retry is due at `now` (use on `record_sync_state`)."""
    return sa.and_(S.c.status == SyncStatus.FAILED, S.c.next_attempt_at <= now)


def waiting_or_due(now: datetime) -> sa.ColumnElement[bool]:
    """State rows a sync started at `now` takes: waiting (pending or in flight) or due."""
    return sa.or_(S.c.status.in_(WAITING_STATUSES), due(now))


def next_sync(now: datetime) -> sa.ColumnElement[bool]:
    """What a sync started at `now` would send: waiting, due, or awaiting intake."""
    return sa.or_(waiting_or_due(now), awaiting_intake())


def pending_view() -> sa.ColumnElement[bool]:
    """What an administrator sees as pending: waiting, or awaiting intake."""
    return sa.or_(S.c.status.in_(WAITING_STATUSES), awaiting_intake())


def sending_run_is_live() -> sa.ColumnElement[bool]:
    """The run that marked the record in flight is still open (use on `record_sync_state`)."""
    return sa.exists().where(R.c.run_id == S.c.last_run_id, R.c.status == "started")


def outcome_unknown() -> sa.ColumnElement[bool]:
    """Records left in flight by a run that has ended (failed, was killed, or closed by liveness)."""
    return sa.and_(S.c.status == SyncStatus.IN_FLIGHT, ~sending_run_is_live())


# --- intake ---


def _set_intake_mark(conn: sa.Connection, org_id: str, newest: datetime, now: datetime) -> None:
    after = newest - MARK_MARGIN
    insert: Any = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(M)
    conn.execute(
        insert.values(org_id=org_id, recount_after=after, taken_in_at=now).on_conflict_do_update(
            index_elements=[M.c.org_id], set_={"recount_after": after, "taken_in_at": now}
        )
    )


def intake(conn: sa.Connection, org_id: str, now: datetime) -> int:
    """Take in the org's new records, and make skipped/failed ones pending again if the app edited them.

    The org's intake mark moves to the newest source row seen before the scan, so that counts
    of what awaits intake read only what came after it. Returns how many records became pending.
    """
    newest = conn.execute(sa.select(sa.func.max(A.c.updated_at)).where(A.c.org_id == org_id)).scalar()
    query = (
        sa.select(A.c.record_id, A.c.record_type, A.c.approved_at, A.c.updated_at, S.c.status)
        .select_from(source_with_state())
        .where(A.c.org_id == org_id, awaiting_intake())
    )
    rows = conn.execute(query).all()
    new = [r for r in rows if r.status is None]
    reopened = [r for r in rows if r.status is not None]
    if new:
        conn.execute(
            S.insert(),
            [
                {
                    "record_id": r.record_id,
                    "org_id": org_id,
                    "record_type": r.record_type,
                    "status": SyncStatus.PENDING,
                    "approved_at": r.approved_at,
                    "source_updated_at": r.updated_at,
                    "updated_at": now,
                }
                for r in new
            ],
        )
    if reopened:
        conn.execute(
            S.update()
            .where(S.c.record_id == sa.bindparam("b_record_id"))
            .values(
                status=SyncStatus.PENDING,
                source_updated_at=sa.bindparam("b_updated_at", type_=UtcDateTime),
                record_type=sa.bindparam("b_record_type"),
                skip_reason=None,
                skip_code=None,
                next_attempt_at=None,
                updated_at=now,
            ),
            [
                {"b_record_id": r.record_id, "b_updated_at": r.updated_at, "b_record_type": r.record_type}
                for r in reopened
            ],
        )
    if newest is not None:
        _set_intake_mark(conn, org_id, newest, now)
    return len(rows)


# --- what a run reads (after intake) ---


def _queue_filter(
    org_id: str, record_types: Sequence[str] | None, now: datetime, record_ids: Sequence[str] | None
) -> list[sa.ColumnElement[bool]]:
    """Pending records, plus failed ones whose automatic retry is due."""
    clauses: list[sa.ColumnElement[bool]] = [
        S.c.org_id == org_id,
        sa.or_(S.c.status == SyncStatus.PENDING, due(now)),
    ]
    if record_types is not None:
        # A record of a type accsync does not know belongs to no export asset: whichever run
        # reads the queue takes it, so that it is skipped with its reason instead of waiting forever.
        known = [t.value for t in RecordType]
        clauses.append(sa.or_(S.c.record_type.in_(list(record_types)), S.c.record_type.not_in(known)))
    if record_ids is not None:
        clauses.append(S.c.record_id.in_(list(record_ids)))
    return clauses


def count_queue(
    conn: sa.Connection,
    org_id: str,
    now: datetime,
    record_types: Sequence[str] | None = None,
    record_ids: Sequence[str] | None = None,
) -> dict[str, int]:
    """How many records of each type the next sync of this org would take."""
    query = (
        sa.select(S.c.record_type, sa.func.count())
        .where(*_queue_filter(org_id, record_types, now, record_ids))
        .group_by(S.c.record_type)
    )
    return {row[0]: int(row[1]) for row in conn.execute(query)}


@dataclass(frozen=True)
class QueuedRecord:
    """A queued source record and how many times in a row it has failed so far (for its backoff)."""

    record: ApprovedRecord
    prior_failures: int
    # `approved_at` as intake first took the record in (a reopening edit does not change it): an
    # app that moves `approved_at` on a re-approval must not hide that the record is older.
    first_approved_at: datetime | None = None


def read_queue(
    conn: sa.Connection,
    org_id: str,
    now: datetime,
    after_record_id: str,
    limit: int,
    record_types: Sequence[str] | None = None,
    record_ids: Sequence[str] | None = None,
) -> list[QueuedRecord]:
    """The next `limit` queued records after `after_record_id` (keyset paging, stable under updates)."""
    query = (
        sa.select(*source_columns(), S.c.consecutive_failures, S.c.approved_at.label("first_approved_at"))
        .select_from(S.join(A, state_of_source()))
        .where(*_queue_filter(org_id, record_types, now, record_ids), S.c.record_id > after_record_id)
        .order_by(S.c.record_id)
        .limit(limit)
    )
    return [
        QueuedRecord(parse_source_row(r._mapping), int(r.consecutive_failures or 0), r.first_approved_at)
        for r in conn.execute(query)
    ]


def queue_chunk(
    conn: sa.Connection,
    org_id: str,
    now: datetime,
    after_record_id: str,
    limit: int,
    record_types: Sequence[str] | None = None,
    record_ids: Sequence[str] | None = None,
) -> list[ApprovedRecord]:
    """`read_queue` without the failure counts."""
    return [q.record for q in read_queue(conn, org_id, now, after_record_id, limit, record_types, record_ids)]


def in_flight(conn: sa.Connection, org_id: str) -> list[str]:
    """Records a crashed run left in flight: they must be resolved by lookup before anything is sent."""
    return sorted(in_flight_types(conn, org_id))


def in_flight_types(conn: sa.Connection, org_id: str) -> dict[str, str]:
    """record_id → record type of the records in flight."""
    query = sa.select(S.c.record_id, S.c.record_type).where(
        S.c.org_id == org_id, S.c.status == SyncStatus.IN_FLIGHT
    )
    return dict(conn.execute(query.order_by(S.c.record_id)).all())


def in_flight_approvals(conn: sa.Connection, org_id: str) -> dict[str, tuple[str, datetime]]:
    """record_id → (record type, approved_at) of the records in flight."""
    query = sa.select(S.c.record_id, S.c.record_type, S.c.approved_at).where(
        S.c.org_id == org_id, S.c.status == SyncStatus.IN_FLIGHT
    )
    rows = conn.execute(query.order_by(S.c.record_id)).all()
    return {record_id: (record_type, approved_at) for record_id, record_type, approved_at in rows}


# --- what screens count, without taking anything in ---


def awaiting_intake_counts(
    conn: sa.Connection, org_ids: Sequence[str] | None, group_by_type: bool = False
) -> list[tuple[str, str, str | None, str | None, datetime | None, int]]:
    """Source rows that intake would make pending, counted per (org, source type, state status, ...).

    Two queries for any number of orgs (all known orgs when `org_ids` is None): the marks, then
    the source rows after each org's mark. The earliest mark is also given as a plain bound on
    `updated_at`, so that the planner reads the recent rows by index instead of every org's
    history. An org without a mark has never been taken in, so all its rows are read. Rows:
    (org_id, record_type, state status, state record_type, state next_attempt_at, count).
    """
    scope = sa.select(organizations.c.org_id, M.c.recount_after).select_from(
        organizations.outerjoin(M, M.c.org_id == organizations.c.org_id)
    )
    if org_ids is not None:
        scope = scope.where(organizations.c.org_id.in_(list(org_ids)))
    marks = dict(conn.execute(scope).all())
    marked = [after for after in marks.values() if after is not None]
    unmarked = sorted(org_id for org_id, after in marks.items() if after is None)
    columns: list[sa.ColumnElement[Any]] = [A.c.org_id, A.c.record_type, S.c.status]
    columns += [S.c.record_type.label("state_type"), S.c.next_attempt_at] if group_by_type else []
    branches = []
    if marked:
        after_mark = sa.and_(M.c.org_id == A.c.org_id, A.c.updated_at > M.c.recount_after)
        query = (
            sa.select(*columns, sa.func.count().label("n"))
            .select_from(A.join(M, after_mark).outerjoin(S, state_of_source()))
            .where(A.c.updated_at > min(marked), awaiting_intake())
            .group_by(*columns)
        )
        branches.append(query if org_ids is None else query.where(A.c.org_id.in_(list(org_ids))))
    if unmarked:
        branches.append(
            sa.select(*columns, sa.func.count().label("n"))
            .select_from(source_with_state())
            .where(A.c.org_id.in_(unmarked), awaiting_intake())
            .group_by(*columns)
        )
    if not branches:
        return []
    found = []
    for row in conn.execute(sa.union_all(*branches)):
        if group_by_type:
            found.append((row[0], row[1], row[2], row[3], row[4], int(row[5])))
        else:
            found.append((row[0], row[1], row[2], None, None, int(row[3])))
    return found


def awaiting_intake_ids(conn: sa.Connection, org_id: str) -> sa.Select[tuple[str]]:
    """The org's source record ids that intake would make pending, read after its intake mark."""
    query = (
        sa.select(A.c.record_id)
        .select_from(source_with_state())
        .where(A.c.org_id == org_id, awaiting_intake())
    )
    after = conn.execute(sa.select(M.c.recount_after).where(M.c.org_id == org_id)).scalar()
    return query if after is None else query.where(A.c.updated_at > after)


def pending_ids(conn: sa.Connection, org_id: str) -> sa.Select[tuple[str]]:
    """The org's pending record ids: the waiting state rows (open-records index) and what intake would add.

    Read after the org's intake mark: the size of the queue, not of the org's history.
    """
    waiting = sa.select(S.c.record_id).where(S.c.org_id == org_id, S.c.status.in_(WAITING_STATUSES))
    ids = sa.union_all(waiting, awaiting_intake_ids(conn, org_id)).subquery()
    return sa.select(ids.c.record_id)


def next_sync_candidates(conn: sa.Connection, org_id: str) -> sa.Select[tuple[str]]:
    """The org's record ids that a sync could send, to narrow a `next_sync(now)` query to its queue.

    Every open state row (pending, in flight, failed: the open-records index, whether or not a
    failure is due yet) and what intake would add after the org's mark: the size of the queue,
    not of the org's history. `next_sync(now)` then decides which of them the sync would send.
    """
    open_rows = sa.select(S.c.record_id).where(S.c.org_id == org_id, S.c.status.in_(OPEN_STATUSES))
    ids = sa.union_all(open_rows, awaiting_intake_ids(conn, org_id)).subquery()
    return sa.select(ids.c.record_id)


def outcome_unknown_counts(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, int]:
    """Per org, records in flight whose run has ended; one grouped query for any number of orgs."""
    query = sa.select(S.c.org_id, sa.func.count()).where(outcome_unknown()).group_by(S.c.org_id)
    if org_ids is not None:
        query = query.where(S.c.org_id.in_(list(org_ids)))
    return {org_id: int(count) for org_id, count in conn.execute(query)}


def record_counts(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Per org: {"pending": n, "failed": n}, where pending includes what intake would take in.

    Sized for a thousand orgs and a million records: the state counts read the partial index of
    open records (pending, in flight, failed), and what awaits intake is read only after each
    org's intake mark. None of it grows with the number of records already exported or skipped.
    A failed record the app has since edited counts as pending, not failed: the next sync sends it.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pending": 0, "failed": 0})
    state = (
        sa.select(S.c.org_id, S.c.status, sa.func.count())
        .where(S.c.status.in_(OPEN_STATUSES))
        .group_by(S.c.org_id, S.c.status)
    )
    if org_ids is not None:
        state = state.where(S.c.org_id.in_(list(org_ids)))
    for org_id, status, count in conn.execute(state):
        if status in WAITING_STATUSES:
            counts[org_id]["pending"] += int(count)
        elif status == SyncStatus.FAILED:
            counts[org_id]["failed"] += int(count)
    if org_ids is None:
        # Every org: the backlog read once and reused while unchanged (`intake_backlog`).
        from accsync_pipeline.store.intake_backlog import backlog_by_org

        for org_id, backlog in backlog_by_org(conn).items():
            counts[org_id]["pending"] += backlog.total
            counts[org_id]["failed"] -= backlog.failed_reopened
        return dict(counts)
    for org_id, _, status, _, _, count in awaiting_intake_counts(conn, org_ids):
        counts[org_id]["pending"] += count
        if status == SyncStatus.FAILED:
            counts[org_id]["failed"] -= count
    return dict(counts)


def next_sync_by_type(
    conn: sa.Connection, org_id: str, now: datetime, record_types: Sequence[str] | None = None
) -> dict[str, int]:
    """How many records of each type the next sync of the org would send, if it started at `now`.

    The queue the pipeline takes after intake: pending (and in flight), failed ones whose
    automatic retry is due, and everything intake would add or reopen. The queued state rows
    are counted on the org's open-records index by their stored type (the one the pipeline
    reads); what intake would add or reopen is counted by the source's type.
    """
    queued = (
        sa.select(S.c.record_type, sa.func.count())
        .where(S.c.org_id == org_id, S.c.status.in_(OPEN_STATUSES), waiting_or_due(now))
        .group_by(S.c.record_type)
    )
    by_type: dict[str, int] = defaultdict(int)
    for record_type, count in conn.execute(queued):
        by_type[str(record_type)] += int(count)
    for _, source_type, status, state_type, next_at, count in awaiting_intake_counts(
        conn, [org_id], group_by_type=True
    ):
        if status == SyncStatus.FAILED and next_at is not None and next_at <= now:
            # Queued already, counted above under its stored type; intake stores the source's.
            by_type[str(state_type)] -= count
        by_type[str(source_type)] += count
    if record_types is not None:
        by_type = defaultdict(int, {t: n for t, n in by_type.items() if t in record_types})
    return {t: n for t, n in by_type.items() if n > 0}


def first_due_by_org(conn: sa.Connection, now: datetime) -> dict[str, datetime]:
    """Per org with failed records whose automatic retry is due at `now`, the earliest due time."""
    query = sa.select(S.c.org_id, sa.func.min(S.c.next_attempt_at)).where(due(now)).group_by(S.c.org_id)
    return {org_id: first_due for org_id, first_due in conn.execute(query)}


def source_changes(
    conn: sa.Connection, after: tuple[datetime, str] | None, overlap: timedelta, limit: int
) -> tuple[list[Any], list[Any]]:
    """(late, changed): source rows with their state status, in (updated_at, record_id) order.

    `changed` are the rows after the position `after` (all rows when None); `late` are rows up
    to `overlap` behind it that intake has not taken in yet (a transaction that committed late
    can write an `updated_at` older than the position). At most `limit` of each.
    """
    columns = (A.c.org_id, A.c.updated_at, A.c.record_id, S.c.status)
    query = (
        sa.select(*columns)
        .select_from(source_with_state())
        .order_by(A.c.updated_at, A.c.record_id)
        .limit(limit)
    )
    late: list[Any] = []
    if after is not None:
        at, record_id = after
        position = sa.or_(A.c.updated_at > at, sa.and_(A.c.updated_at == at, A.c.record_id > record_id))
        query = query.where(position)
        late = list(
            conn.execute(
                sa.select(*columns)
                .select_from(source_with_state())
                .where(A.c.updated_at > at - overlap, sa.not_(position), awaiting_intake())
                .order_by(A.c.updated_at, A.c.record_id)
                .limit(limit)
            ).all()
        )
    return late, list(conn.execute(query).all())
