"""Per-record sync state: intake from the source, the pending queue, and each outcome with its log entry.

A record is always in exactly one state (pending, in_flight, exported, failed, skipped); every
change of state is written together with its attempt-log entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.amounts import AmountError, parse_amount
from accsync_pipeline.domain.records import ApprovedRecord, RecordType, SyncStatus
from accsync_pipeline.domain.validation import TYPE_NOT_INCLUDED
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_attempts

S = record_sync_state
A = approved_records


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


def intake(conn: sa.Connection, org_id: str, now: datetime) -> int:
    """Take in the org's new records, and make skipped/failed ones pending again if the app edited them.

    An exported record is never reopened by an edit: it is in the ledger already.
    Returns how many records became pending.
    """
    query = (
        sa.select(A.c.record_id, A.c.record_type, A.c.approved_at, A.c.updated_at, S.c.status)
        .select_from(A.outerjoin(S, S.c.record_id == A.c.record_id))
        .where(A.c.org_id == org_id)
        .where(
            sa.or_(
                S.c.record_id.is_(None),
                sa.and_(
                    S.c.status.in_([SyncStatus.SKIPPED, SyncStatus.FAILED]),
                    A.c.updated_at > S.c.source_updated_at,
                ),
            )
        )
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
    for r in reopened:
        conn.execute(
            S.update()
            .where(S.c.record_id == r.record_id)
            .values(
                status=SyncStatus.PENDING,
                source_updated_at=r.updated_at,
                record_type=r.record_type,
                skip_reason=None,
                next_attempt_at=None,
                updated_at=now,
            )
        )
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
        .select_from(S.join(A, A.c.record_id == S.c.record_id))
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


def write_results(
    conn: sa.Connection, results: Sequence[RecordResult], run_id: str, trigger: str, now: datetime
) -> None:
    """Write each record's new state and its attempt-log entry (call inside one transaction)."""
    attempts: list[dict[str, Any]] = []
    for r in results:
        if r.status == SyncStatus.EXPORTED:
            values: dict[str, Any] = {
                "status": SyncStatus.EXPORTED,
                "external_id": r.external_id,
                "exported_at": now,
                "consecutive_failures": 0,
                "next_attempt_at": None,
                "attempt_count": S.c.attempt_count + 1,
                "skip_reason": None,
            }
            outcome = "recovered" if r.recovered else "exported"
            # The record's failed attempts are now resolved by this run.
            conn.execute(
                sync_attempts.update()
                .where(
                    sync_attempts.c.record_id == r.record_id,
                    sync_attempts.c.outcome == "failed",
                    sync_attempts.c.resolved_by_run_id.is_(None),
                )
                .values(resolved_by_run_id=run_id)
            )
        elif r.status == SyncStatus.FAILED:
            values = {
                "status": SyncStatus.FAILED,
                "last_error": r.error,
                "last_error_code": r.error_code,
                "next_attempt_at": r.next_attempt_at,
                "consecutive_failures": S.c.consecutive_failures + 1,
                "attempt_count": S.c.attempt_count + 1,
            }
            outcome = "failed"
        elif r.status == SyncStatus.SKIPPED:
            values = {"status": SyncStatus.SKIPPED, "skip_reason": r.skip_reason, "next_attempt_at": None}
            outcome = "skipped"
        else:
            raise ValueError(f"not a final status: {r.status}")
        conn.execute(
            S.update()
            .where(S.c.record_id == r.record_id)
            .values(last_run_id=run_id, updated_at=now, **values)
        )
        attempts.append(
            {
                "record_id": r.record_id,
                "org_id": r.org_id,
                "run_id": run_id,
                "trigger": trigger,
                "outcome": outcome,
                "error": r.error or r.skip_reason,
                "error_code": r.error_code,
                "external_id": r.external_id,
                "attempted_at": now,
            }
        )
    if attempts:
        conn.execute(sync_attempts.insert(), attempts)


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
