"""Per-record sync state: intake from the source, the pending queue, and each outcome with its log entry.

A record is always in exactly one state (pending, in_flight, exported, failed, skipped); every
change of state is written together with its attempt-log entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accsync_pipeline.domain.amounts import AmountError, parse_amount
from accsync_pipeline.domain.records import ApprovedRecord, RecordType, SyncStatus
from accsync_pipeline.domain.validation import TYPE_NOT_INCLUDED
from accsync_pipeline.store.schema import (
    approved_records,
    org_intake_marks,
    organizations,
    record_sync_state,
    sync_attempts,
)
from accsync_pipeline.store.types import UtcDateTime

S = record_sync_state
A = approved_records
M = org_intake_marks
KEY_CHUNK = 1000  # ids per IN list: well inside SQLite's limit on bound parameters


def _source_amount(raw: object) -> tuple[Decimal, str | None]:
    """The exact amount, or 0 and the reason it cannot be read; never rounded."""
    try:
        return parse_amount(raw), None
    except AmountError as e:
        return Decimal(0), str(e)


def parse_source_row(m: Any) -> ApprovedRecord:
    """Parse a row of `approved_records` at the boundary; amounts become exact Decimals.

    Read the amount through `RAW_AMOUNT` (see `source_columns`): the Numeric column type would
    round it to two decimals on SQLite before we could see it, and fail on text.
    """
    amount, unreadable = _source_amount(m["amount"])
    return ApprovedRecord(
        record_id=m["record_id"],
        org_id=m["org_id"],
        record_type=m["record_type"],
        person_id=m["person_id"],
        person_name=m["person_name"],
        employee_number=m["employee_number"],
        amount=amount,
        currency=m["currency"],
        expense_account=m["expense_account"],
        description=m["description"],
        expense_date=m["expense_date"],
        approved_at=m["approved_at"],
        approved_by=m["approved_by"],
        updated_at=m["updated_at"],
        amount_unreadable=unreadable,
    )


# The source amount as the driver gives it, without the Numeric type's rounding result processor.
RAW_AMOUNT = sa.type_coerce(A.c.amount, sa.types.NullType()).label("amount")


def source_columns() -> list[sa.ColumnElement[Any]]:
    """The columns of `approved_records`, the amount read raw for `parse_source_row`."""
    return [RAW_AMOUNT if c.name == "amount" else c for c in A.c]


def state_of_source() -> sa.ColumnElement[bool]:
    """The join condition from a source row to its state row: record AND org.

    With `org_id` in the condition a per-org query reads only that org's state rows (through the
    (org_id, record_id) index) instead of probing or hashing the whole state table.
    """
    return sa.and_(S.c.record_id == A.c.record_id, S.c.org_id == A.c.org_id)


def awaiting_intake() -> sa.ColumnElement[bool]:
    """Source rows that intake would make pending (use on `approved_records` outer-joined to state)."""
    return sa.or_(
        S.c.record_id.is_(None),
        sa.and_(
            S.c.status.in_([SyncStatus.SKIPPED, SyncStatus.FAILED]),
            A.c.updated_at > S.c.source_updated_at,
        ),
    )


# How far behind an org's intake mark a late-committing transaction may have written its
# updated_at; rows in that margin are looked at again (the approval sensor uses the same window).
MARK_MARGIN = timedelta(minutes=5)


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
            .select_from(A.outerjoin(S, state_of_source()))
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
        .select_from(A.outerjoin(S, state_of_source()))
        .where(A.c.org_id == org_id, awaiting_intake())
    )
    after = conn.execute(sa.select(M.c.recount_after).where(M.c.org_id == org_id)).scalar()
    return query if after is None else query.where(A.c.updated_at > after)


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

    An exported record is never reopened by an edit: it is in the ledger already. The org's
    intake mark moves to the newest source row seen before the scan, so that counts of what
    awaits intake read only what came after it. Returns how many records became pending.
    """
    newest = conn.execute(sa.select(sa.func.max(A.c.updated_at)).where(A.c.org_id == org_id)).scalar()
    query = (
        sa.select(A.c.record_id, A.c.record_type, A.c.approved_at, A.c.updated_at, S.c.status)
        .select_from(A.outerjoin(S, state_of_source()))
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


def _queue_filter(
    org_id: str, record_types: Sequence[str] | None, now: datetime, record_ids: Sequence[str] | None
) -> list[sa.ColumnElement[bool]]:
    """Pending records, plus failed ones whose automatic retry is due."""
    due = sa.or_(
        S.c.status == SyncStatus.PENDING,
        sa.and_(S.c.status == SyncStatus.FAILED, S.c.next_attempt_at <= now),
    )
    clauses: list[sa.ColumnElement[bool]] = [S.c.org_id == org_id, due]
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


def queue_chunk(
    conn: sa.Connection,
    org_id: str,
    now: datetime,
    after_record_id: str,
    limit: int,
    record_types: Sequence[str] | None = None,
    record_ids: Sequence[str] | None = None,
) -> list[ApprovedRecord]:
    """The next `limit` queued records after `after_record_id` (keyset paging, stable under updates)."""
    query = (
        sa.select(*source_columns())
        .select_from(S.join(A, state_of_source()))
        .where(*_queue_filter(org_id, record_types, now, record_ids), S.c.record_id > after_record_id)
        .order_by(S.c.record_id)
        .limit(limit)
    )
    return [parse_source_row(r._mapping) for r in conn.execute(query)]


def in_flight(conn: sa.Connection, org_id: str) -> list[str]:
    """Records a crashed run left in flight: they must be resolved by lookup before anything is sent."""
    query = sa.select(S.c.record_id).where(S.c.org_id == org_id, S.c.status == SyncStatus.IN_FLIGHT)
    return [r[0] for r in conn.execute(query.order_by(S.c.record_id))]


def mark_in_flight(conn: sa.Connection, record_ids: Sequence[str], run_id: str, now: datetime) -> None:
    """Written and committed before the records leave: a crash after this is resolved by lookup."""
    if record_ids:
        conn.execute(
            S.update()
            .where(S.c.record_id.in_(list(record_ids)))
            .values(status=SyncStatus.IN_FLIGHT, last_run_id=run_id, updated_at=now)
        )


def return_to_pending(conn: sa.Connection, record_ids: Sequence[str], now: datetime) -> None:
    """In-flight records that the lookup proved absent from the ledger: safe to send again."""
    if record_ids:
        conn.execute(
            S.update()
            .where(S.c.record_id.in_(list(record_ids)), S.c.status == SyncStatus.IN_FLIGHT)
            .values(status=SyncStatus.PENDING, updated_at=now)
        )


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a run, ready to be written."""

    record_id: str
    org_id: str
    status: SyncStatus  # EXPORTED, FAILED or SKIPPED
    external_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    skip_reason: str | None = None
    next_attempt_at: datetime | None = None
    recovered: bool = False  # exported, proved by idempotency lookup


# One UPDATE for every outcome of a flush, whatever its size and mix: each row's values are
# parameters and the CASEs keep what an outcome leaves alone (e.g. a skip keeps the last error).
_EXPORTED, _FAILED, _SKIPPED = (
    sa.literal(s.value) for s in (SyncStatus.EXPORTED, SyncStatus.FAILED, SyncStatus.SKIPPED)
)
_kind = sa.bindparam("b_status", type_=sa.String)


def _when(status: sa.ColumnElement[str], then: Any, otherwise: Any) -> sa.ColumnElement[Any]:
    return sa.case((_kind == status, then), else_=otherwise)


_WRITE_OUTCOME = (
    S.update()
    .where(S.c.record_id == sa.bindparam("b_record_id"))
    .values(
        status=_kind,
        last_run_id=sa.bindparam("b_run_id"),
        updated_at=sa.bindparam("b_now", type_=UtcDateTime),
        next_attempt_at=sa.bindparam("b_next_attempt_at", type_=UtcDateTime),
        external_id=_when(_EXPORTED, sa.bindparam("b_external_id", type_=sa.String), S.c.external_id),
        exported_at=_when(_EXPORTED, sa.bindparam("b_exported_at", type_=UtcDateTime), S.c.exported_at),
        consecutive_failures=sa.case(
            (_kind == _EXPORTED, 0),
            (_kind == _FAILED, S.c.consecutive_failures + 1),
            else_=S.c.consecutive_failures,
        ),
        attempt_count=_when(_SKIPPED, S.c.attempt_count, S.c.attempt_count + 1),
        skip_reason=sa.case(
            (_kind == _EXPORTED, sa.null()),
            (_kind == _SKIPPED, sa.bindparam("b_skip_reason", type_=sa.Text)),
            else_=S.c.skip_reason,
        ),
        last_error=_when(_FAILED, sa.bindparam("b_error", type_=sa.Text), S.c.last_error),
        last_error_code=_when(_FAILED, sa.bindparam("b_error_code", type_=sa.String), S.c.last_error_code),
    )
)

_OUTCOMES = {SyncStatus.EXPORTED: "exported", SyncStatus.FAILED: "failed", SyncStatus.SKIPPED: "skipped"}


def write_results(
    conn: sa.Connection, results: Sequence[RecordResult], run_id: str, trigger: str, now: datetime
) -> None:
    """Write each record's new state and its attempt-log entry (call inside one transaction).

    Three statements per call whatever the number of results: one executemany UPDATE of the
    states, one UPDATE resolving the exported records' earlier failed attempts, and one
    multi-row INSERT into the attempt log.
    """
    for r in results:
        if r.status not in _OUTCOMES:
            raise ValueError(f"not a final status: {r.status}")
    if not results:
        return
    conn.execute(
        _WRITE_OUTCOME,
        [
            {
                "b_record_id": r.record_id,
                "b_status": r.status.value,
                "b_run_id": run_id,
                "b_now": now,
                "b_next_attempt_at": r.next_attempt_at if r.status == SyncStatus.FAILED else None,
                "b_external_id": r.external_id,
                "b_exported_at": now,
                "b_skip_reason": r.skip_reason,
                "b_error": r.error,
                "b_error_code": r.error_code,
            }
            for r in results
        ],
    )
    exported = sorted({r.record_id for r in results if r.status == SyncStatus.EXPORTED})
    for start in range(0, len(exported), KEY_CHUNK):
        # The records' failed attempts are now resolved by this run.
        conn.execute(
            sync_attempts.update()
            .where(
                sync_attempts.c.record_id.in_(exported[start : start + KEY_CHUNK]),
                sync_attempts.c.outcome == "failed",
                sync_attempts.c.resolved_by_run_id.is_(None),
            )
            .values(resolved_by_run_id=run_id)
        )
    conn.execute(
        sync_attempts.insert(),
        [
            {
                "record_id": r.record_id,
                "org_id": r.org_id,
                "run_id": run_id,
                "trigger": trigger,
                "outcome": "recovered" if r.recovered else _OUTCOMES[r.status],
                "error": r.error or r.skip_reason,
                "error_code": r.error_code,
                "external_id": r.external_id,
                "attempted_at": now,
            }
            for r in results
        ],
    )


def release_for_manual_retry(
    conn: sa.Connection, org_id: str, record_ids: Sequence[str] | None, now: datetime
) -> list[str]:
    """Failed records (the given ones, or all of the org's) become pending at once.

    A manual retry overrides the automatic backoff and resets it; the failure counts stay, so
    that a record failing again still counts towards its consecutive-failure alert.
    """
    query = sa.select(S.c.record_id).where(S.c.org_id == org_id, S.c.status == SyncStatus.FAILED)
    if record_ids is not None:
        query = query.where(S.c.record_id.in_(list(record_ids)))
    ids = [r[0] for r in conn.execute(query.order_by(S.c.record_id))]
    if ids:
        conn.execute(
            S.update()
            .where(S.c.record_id.in_(ids))
            .values(status=SyncStatus.PENDING, next_attempt_at=None, updated_at=now)
        )
    return ids


def reopen_type_skips(conn: sa.Connection, org_id: str, record_types: Sequence[str], now: datetime) -> int:
    """Records skipped only because their type was excluded become pending when the type is included."""
    if not record_types:
        return 0
    result = conn.execute(
        S.update()
        .where(
            S.c.org_id == org_id,
            S.c.status == SyncStatus.SKIPPED,
            S.c.record_type.in_(list(record_types)),
            S.c.skip_reason.like(f"%{TYPE_NOT_INCLUDED}"),
        )
        .values(status=SyncStatus.PENDING, skip_reason=None, updated_at=now)
    )
    return int(result.rowcount)
