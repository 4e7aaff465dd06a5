"""Per-record sync state: each outcome with its log entry, manual retries and type reopening.

A record is always in exactly one state (pending, in_flight, exported, failed, skipped); every
change of state is written together with its attempt-log entry in one transaction. What counts
as queued, and intake, live in `store.queue` (re-exported here for the record store's callers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from accsync_pipeline.domain.records import AttemptOutcome, SyncStatus
from accsync_pipeline.domain.validation import SkipCode
from accsync_pipeline.store import queue
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_attempts
from accsync_pipeline.store.types import UtcDateTime

S = record_sync_state
A = approved_records
# The queue's entry points, for callers of the record store (defined once, in `store.queue`).
MARK_MARGIN = queue.MARK_MARGIN
awaiting_intake = queue.awaiting_intake
count_queue = queue.count_queue
in_flight = queue.in_flight
intake = queue.intake
queue_chunk = queue.queue_chunk
state_of_source = queue.state_of_source
KEY_CHUNK = 1000  # ids per IN list: well inside SQLite's limit on bound parameters


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
    skip_code: SkipCode | None = None  # with skip_reason
    next_attempt_at: datetime | None = None
    recovered: bool = False  # exported, proved by idempotency lookup


# One UPDATE for every outcome of a flush, whatever its size and mix: each row's values come
# from its outcome and the CASEs keep what an outcome leaves alone (a skip keeps the last error).
_EXPORTED, _FAILED, _SKIPPED = (
    sa.literal(s.value) for s in (SyncStatus.EXPORTED, SyncStatus.FAILED, SyncStatus.SKIPPED)
)
# What each outcome row carries besides the run and the time, in this order.
_OUTCOME_FIELDS = (
    ("record_id", sa.String),
    ("status", sa.String),
    ("next_attempt_at", UtcDateTime),
    ("external_id", sa.String),
    ("skip_reason", sa.Text),
    ("skip_code", sa.String),
    ("error", sa.Text),
    ("error_code", sa.String),
)


def _outcome_set(row: dict[str, Any], run_id: Any, now: Any) -> dict[str, Any]:
    """The state columns an outcome writes, from the outcome row's columns (`_OUTCOME_FIELDS`)."""
    kind = row["status"]

    def when(status: sa.ColumnElement[str], then: Any, otherwise: Any) -> sa.ColumnElement[Any]:
        return sa.case((kind == status, then), else_=otherwise)

    return {
        "status": kind,
        "last_run_id": run_id,
        "updated_at": now,
        "next_attempt_at": row["next_attempt_at"],
        "external_id": when(_EXPORTED, row["external_id"], S.c.external_id),
        "exported_at": when(_EXPORTED, now, S.c.exported_at),
        "consecutive_failures": sa.case(
            (kind == _EXPORTED, 0),
            (kind == _FAILED, S.c.consecutive_failures + 1),
            else_=S.c.consecutive_failures,
        ),
        "attempt_count": when(_SKIPPED, S.c.attempt_count, S.c.attempt_count + 1),
        "skip_reason": sa.case(
            (kind == _EXPORTED, sa.null()), (kind == _SKIPPED, row["skip_reason"]), else_=S.c.skip_reason
        ),
        "skip_code": sa.case(
            (kind == _EXPORTED, sa.null()), (kind == _SKIPPED, row["skip_code"]), else_=S.c.skip_code
        ),
        "last_error": when(_FAILED, row["error"], S.c.last_error),
        "last_error_code": when(_FAILED, row["error_code"], S.c.last_error_code),
    }


# SQLite: one statement run for each row (executemany; the file is local, so rows are cheap).
_BOUND = {name: sa.bindparam(f"b_{name}", type_=kind) for name, kind in _OUTCOME_FIELDS}
_WRITE_OUTCOME = (
    S.update()
    .where(S.c.record_id == _BOUND["record_id"])
    .values(_outcome_set(_BOUND, sa.bindparam("b_run_id"), sa.bindparam("b_now", type_=UtcDateTime)))
)
# PostgreSQL: the outcomes travel as one array per field, unnested into rows in the UPDATE's FROM:
# a flush is one statement and one round trip, compiled once whatever its size. An executemany
# was a round trip per record (140 ms for 185 records), a VALUES list a fresh compile per flush.
_ARRAYS = {name: pg.ARRAY(kind) for name, kind in _OUTCOME_FIELDS}
_ARRAYS["next_attempt_at"] = pg.ARRAY(sa.TIMESTAMP(timezone=True))
_UNNESTED = (
    sa.func.unnest(*(sa.bindparam(f"a_{name}", type_=kind) for name, kind in _ARRAYS.items()))
    .table_valued(*(sa.column(name, kind) for name, kind in _OUTCOME_FIELDS))
    .render_derived(name="outcome")
)
_WRITE_OUTCOMES_PG = (
    S.update()
    .where(S.c.record_id == _UNNESTED.c.record_id)
    .values(
        _outcome_set(
            {name: _UNNESTED.c[name] for name, _ in _OUTCOME_FIELDS},
            sa.bindparam("b_run_id", type_=sa.String),
            sa.bindparam("b_now", type_=UtcDateTime),
        )
    )
)


def _outcome_row(r: RecordResult) -> tuple[Any, ...]:
    next_at = r.next_attempt_at if r.status == SyncStatus.FAILED else None
    return (
        r.record_id,
        r.status.value,
        next_at,
        r.external_id,
        r.skip_reason,
        r.skip_code,
        r.error,
        r.error_code,
    )


def _write_outcomes(conn: sa.Connection, results: Sequence[RecordResult], run_id: str, now: datetime) -> None:
    if conn.dialect.name != "postgresql":
        conn.execute(
            _WRITE_OUTCOME,
            [
                {
                    f"b_{name}": value
                    for (name, _), value in zip(_OUTCOME_FIELDS, _outcome_row(r), strict=True)
                }
                | {"b_run_id": run_id, "b_now": now}
                for r in results
            ],
        )
        return
    rows = [_outcome_row(r) for r in results]
    arrays = {
        f"a_{name}": list(column)
        for (name, _), column in zip(_OUTCOME_FIELDS, zip(*rows, strict=True), strict=True)
    }
    conn.execute(_WRITE_OUTCOMES_PG, {**arrays, "b_run_id": run_id, "b_now": now})


_OUTCOMES = {
    SyncStatus.EXPORTED: AttemptOutcome.EXPORTED,
    SyncStatus.FAILED: AttemptOutcome.FAILED,
    SyncStatus.SKIPPED: AttemptOutcome.SKIPPED,
}


def write_results(
    conn: sa.Connection, results: Sequence[RecordResult], run_id: str, trigger: str, now: datetime
) -> None:
    """Write each record's new state and its attempt-log entry (call inside one transaction).

    Three statements per call whatever the number of results: one UPDATE of
    the states (on SQLite an executemany), one UPDATE resolving the exported records' earlier
    failed attempts, and one multi-row INSERT into the attempt log.
    """
    for r in results:
        if r.status not in _OUTCOMES:
            raise ValueError(f"not a final status: {r.status}")
    if not results:
        return
    _write_outcomes(conn, results, run_id, now)
    exported = sorted({r.record_id for r in results if r.status == SyncStatus.EXPORTED})
    for start in range(0, len(exported), KEY_CHUNK):
        # The records' failed attempts are now resolved by this run.
        conn.execute(
            sync_attempts.update()
            .where(
                sync_attempts.c.record_id.in_(exported[start : start + KEY_CHUNK]),
                sync_attempts.c.outcome == AttemptOutcome.FAILED,
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
                "outcome": AttemptOutcome.RECOVERED if r.recovered else _OUTCOMES[r.status],
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
            S.c.skip_code == SkipCode.TYPE_NOT_INCLUDED,
        )
        .values(status=SyncStatus.PENDING, skip_reason=None, skip_code=None, updated_at=now)
    )
    return int(result.rowcount)
