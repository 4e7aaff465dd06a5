"""Finding an org's records: one filter, paged and sorted in SQL, counted, summed and streamed.

The status screen, its CSV download and the JSON API all describe what they want as a
`RecordSearch`; every query here is scoped to one org (the `approved_records` org index), so
a page of 50 out of a million records costs one page, one count and one sum.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.amounts import AmountError, parse_amount
from accsync_pipeline.domain.records import AttemptOutcome, SyncStatus
from accsync_pipeline.store import queue
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_attempts
from accsync_pipeline.store.source_rows import RAW_AMOUNT, source_columns

A = approved_records
S = record_sync_state
T = sync_attempts


class RecordView(StrEnum):
    """The lists of the status screen: where a record stands as its org administrator sees it."""

    FAILED = "failed"
    PENDING = "pending"
    SKIPPED = "skipped"
    EXPORTED = "exported"
    ALL = "all"


class RecordSort(StrEnum):
    RECORD = "record"
    VOLUNTEER = "volunteer"
    AMOUNT = "amount"
    DATE = "date"
    APPROVED = "approved"
    ERROR = "error"


SORT_COLUMNS: dict[RecordSort, sa.ColumnElement[Any]] = {
    RecordSort.RECORD: A.c.record_id,
    RecordSort.VOLUNTEER: A.c.person_name,
    RecordSort.AMOUNT: A.c.amount,
    RecordSort.DATE: A.c.expense_date,
    RecordSort.APPROVED: A.c.approved_at,
    RecordSort.ERROR: sa.func.coalesce(S.c.last_error, S.c.skip_reason, ""),
}


@dataclass(frozen=True)
class RecordSearch:
    """Which of one org's records, in what order, which page. Every field is optional but the org."""

    org_id: str
    view: RecordView = RecordView.ALL
    # One box for what people remember: volunteer, record id, amount, error or skip reason.
    text: str | None = None
    date_from: date | None = None  # expense date, inclusive
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    record_ids: Sequence[str] | None = None
    sort: RecordSort = RecordSort.RECORD
    descending: bool = False
    limit: int = 50
    offset: int = 0
    extra: tuple[sa.ColumnElement[bool], ...] = field(default=(), compare=False)


def view_clause(view: RecordView) -> sa.ColumnElement[bool] | None:
    """A view as SQL over `approved_records` outer-joined to the state (None: every record)."""
    # A skipped or failed record the app has edited since is pending again (intake reopens it).
    if view == RecordView.ALL:
        return None
    if view == RecordView.PENDING:
        return queue.pending_view()
    if view == RecordView.EXPORTED:
        return S.c.status == SyncStatus.EXPORTED
    return queue.settled_as(SyncStatus(view.value))


def _text_amount(text: str) -> Decimal | None:
    """`1 234,50`, `1234.5` or `kr 1234` read as an amount; None when the text is no number."""
    cleaned = text.lower().replace("kr", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        return None
    return value if value.is_finite() and cleaned.count(".") <= 1 else None


def _text_clause(text: str) -> sa.ColumnElement[bool]:
    needle = text.strip().lower()
    matches: list[sa.ColumnElement[bool]] = [
        sa.func.lower(column).contains(needle, autoescape=True)
        for column in (A.c.record_id, A.c.person_name, S.c.last_error, S.c.skip_reason, S.c.last_error_code)
    ]
    amount = _text_amount(needle)
    if amount is not None:
        matches.append(A.c.amount == amount)
    return sa.or_(*matches)


def _clauses(search: RecordSearch) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = [A.c.org_id == search.org_id, *search.extra]
    view = view_clause(search.view)
    if view is not None:
        clauses.append(view)
    if search.text and search.text.strip():
        clauses.append(_text_clause(search.text))
    if search.date_from is not None:
        clauses.append(A.c.expense_date >= search.date_from)
    if search.date_to is not None:
        clauses.append(A.c.expense_date <= search.date_to)
    if search.amount_min is not None:
        clauses.append(A.c.amount >= search.amount_min)
    if search.amount_max is not None:
        clauses.append(A.c.amount <= search.amount_max)
    if search.record_ids is not None:
        clauses.append(A.c.record_id.in_(list(search.record_ids)))
    return clauses


def _joined() -> sa.FromClause:
    # org_id in the join condition: a per-org list reads only that org's state rows.
    return queue.source_with_state()


def _rows_query(search: RecordSearch) -> sa.Select[Any]:
    # The source row, and the state columns the source does not have (same-named ones come from the source).
    state = [c for c in S.c if c.name not in A.c]
    unknown = sa.case((queue.outcome_unknown(), True), else_=False).label("outcome_unknown")
    column = SORT_COLUMNS[search.sort]
    order = [column.desc() if search.descending else column.asc()]
    if search.sort != RecordSort.RECORD:
        order.append(A.c.record_id.desc() if search.descending else A.c.record_id.asc())
    return (
        sa.select(*source_columns(), *state, unknown)
        .select_from(_joined())
        .where(*_clauses(search))
        .order_by(*order)
    )


def _in_queue(conn: sa.Connection, search: RecordSearch) -> list[sa.ColumnElement[bool]]:
    """For the pending view, the same records by id from the org's queue: counting and summing
    them then reads the queue (open-records index, rows after the intake mark), not the history."""
    if search.view != RecordView.PENDING:
        return []
    return [A.c.record_id.in_(queue.pending_ids(conn, search.org_id))]


def count_records(conn: sa.Connection, search: RecordSearch) -> int:
    query = (
        sa.select(sa.func.count()).select_from(_joined()).where(*_clauses(search), *_in_queue(conn, search))
    )
    return int(conn.execute(query).scalar_one())


def page_of_records(conn: sa.Connection, search: RecordSearch) -> list[Any]:
    """One page of matching rows (source columns, state columns and `outcome_unknown`)."""
    query = _rows_query(search).limit(search.limit).offset(search.offset)
    return [r._mapping for r in conn.execute(query)]


def stream_records(conn: sa.Connection, search: RecordSearch, chunk: int = 1000) -> Iterator[Any]:
    """Every matching row in order, fetched `chunk` at a time (a server-side cursor on PostgreSQL)."""
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(_rows_query(search))
    for row in result:
        yield row._mapping


def _cents(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # Summed as whole øre in an integer: SQLite would sum NUMERIC through floats.
    return sa.func.sum(sa.cast(sa.func.round(column * 100), sa.BigInteger))


def _by_currency(rows: Any) -> dict[str, Decimal]:
    return {str(currency): Decimal(int(cents or 0)) / 100 for currency, cents in rows}


def total_and_money(conn: sa.Connection, search: RecordSearch) -> tuple[int, dict[str, Decimal]]:
    """How many records match, and their amounts summed per currency (exact to the øre).

    One grouped query: the list's total and its money read the matching rows once, not twice.
    """
    query = (
        sa.select(A.c.currency, sa.func.count(), _cents(A.c.amount))
        .select_from(_joined())
        .where(*_clauses(search), *_in_queue(conn, search))
        .group_by(A.c.currency)
        .order_by(A.c.currency)
    )
    rows = conn.execute(query).all()
    total = sum(int(count) for _, count, _ in rows)
    return total, _by_currency((currency, cents) for currency, _, cents in rows)


def view_counts(
    conn: sa.Connection, org_id: str, queued: Mapping[str, int] | None = None
) -> dict[RecordView, int]:
    """How many of the org's records each view holds (the tabs above the list).

    `queued` is the org's {"pending": n, "failed": n} from `queue.record_counts`, when the caller
    has read it already (the status screen has); else it is read here. Every record is in exactly
    one of failed, pending, skipped and exported, so exported is what the other three leave of
    all: no count walks the org's exported history through the join to its state rows, which
    cost a 50,000-record org 40 ms a page. Skipped joins only the org's skipped state rows.
    """
    counts = queued if queued is not None else queue.record_counts(conn, [org_id]).get(org_id)
    pending, failed = (counts["pending"], counts["failed"]) if counts else (0, 0)
    every = sa.select(sa.func.count()).select_from(A).where(A.c.org_id == org_id)
    skipped = (
        sa.select(sa.func.count())
        .select_from(S.join(A, queue.state_of_source()))
        .where(S.c.org_id == org_id, queue.settled_as(SyncStatus.SKIPPED))
    )
    row = conn.execute(sa.select(every.scalar_subquery(), skipped.scalar_subquery())).one()
    total, settled_skipped = int(row[0]), int(row[1])
    return {
        RecordView.FAILED: failed,
        RecordView.PENDING: pending,
        RecordView.SKIPPED: settled_skipped,
        # Never below 0: the caller's counts may be a moment older than this read, while a sync
        # moves records on (one taken from pending to skipped in between is counted twice).
        RecordView.EXPORTED: max(0, total - pending - failed - settled_skipped),
        RecordView.ALL: total,
    }


# --- One run's records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One record as a run left it: the attempt's outcome, with the record's money and volunteer."""

    record_id: str
    outcome: str  # exported | recovered | failed | skipped
    error: str | None
    error_code: str | None
    external_id: str | None
    resolved_by_run_id: str | None
    attempted_at: Any
    person_name: str
    amount: Decimal
    currency: str
    record_type: str
    expense_date: date


def _run_query(org_id: str, run_id: str, outcome: str | None) -> sa.Select[Any]:
    query = (
        sa.select(
            T.c.record_id,
            T.c.outcome,
            T.c.error,
            T.c.error_code,
            T.c.external_id,
            T.c.resolved_by_run_id,
            T.c.attempted_at,
            A.c.person_name,
            RAW_AMOUNT,
            A.c.currency,
            A.c.record_type,
            A.c.expense_date,
        )
        .select_from(T.join(A, A.c.record_id == T.c.record_id))
        .where(T.c.run_id == run_id, T.c.org_id == org_id)
    )
    if outcome == AttemptOutcome.EXPORTED:
        query = query.where(T.c.outcome.in_([AttemptOutcome.EXPORTED, AttemptOutcome.RECOVERED]))
    elif outcome is not None:
        query = query.where(T.c.outcome == outcome)
    return query.order_by(T.c.record_id, T.c.attempt_id)


def _run_record(m: Any) -> RunRecord:
    try:
        amount = parse_amount(m["amount"])
    except AmountError:
        amount = Decimal(0)  # the record was skipped for it; its reason says why
    return RunRecord(
        record_id=m["record_id"],
        outcome=m["outcome"],
        error=m["error"],
        error_code=m["error_code"],
        external_id=m["external_id"],
        resolved_by_run_id=m["resolved_by_run_id"],
        attempted_at=m["attempted_at"],
        person_name=m["person_name"],
        amount=amount,
        currency=m["currency"],
        record_type=m["record_type"],
        expense_date=m["expense_date"],
    )


def run_records(
    conn: sa.Connection, org_id: str, run_id: str, outcome: str | None, limit: int, offset: int
) -> tuple[int, list[RunRecord]]:
    """(how many, one page) of the records a run tried, by record id; `outcome` narrows it."""
    query = _run_query(org_id, run_id, outcome)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = conn.execute(query.limit(limit).offset(offset))
    return int(total), [_run_record(r._mapping) for r in rows]


def stream_run_records(
    conn: sa.Connection, org_id: str, run_id: str, chunk: int = 1000
) -> Iterator[RunRecord]:
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(
        _run_query(org_id, run_id, None)
    )
    for row in result:
        yield _run_record(row._mapping)


def run_money(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, dict[str, dict[str, Decimal]]]:
    """Per run, per outcome (exported, failed, skipped), the amounts per currency; one query.

    A record recovered by lookup counts as exported: it is in the ledger.
    """
    if not run_ids:
        return {}
    outcome = sa.case(
        (T.c.outcome == AttemptOutcome.RECOVERED, AttemptOutcome.EXPORTED), else_=T.c.outcome
    ).label("outcome")
    query = (
        sa.select(T.c.run_id, outcome, A.c.currency, _cents(A.c.amount))
        .select_from(T.join(A, A.c.record_id == T.c.record_id))
        .where(T.c.run_id.in_(list(run_ids)))
        .group_by(T.c.run_id, outcome, A.c.currency)
    )
    found: dict[str, dict[str, dict[str, Decimal]]] = {}
    for run_id, kind, currency, cents in conn.execute(query):
        found.setdefault(run_id, {}).setdefault(kind, {})[currency] = Decimal(int(cents or 0)) / 100
    return found


def resolving_attempts(conn: sa.Connection, record_id: str, run_ids: Sequence[str]) -> dict[str, Any]:
    """The successful attempts by which the given runs sent one record, by run id."""
    if not run_ids:
        return {}
    query = sa.select(T.c.run_id, T.c.trigger, T.c.attempted_at, T.c.external_id).where(
        T.c.record_id == record_id,
        T.c.run_id.in_(list(run_ids)),
        T.c.outcome.in_([AttemptOutcome.EXPORTED, AttemptOutcome.RECOVERED]),
    )
    return {row.run_id: row for row in conn.execute(query)}


def money_of_next_sync(
    conn: sa.Connection, org_id: str, now: datetime, record_types: Sequence[str] | None = None
) -> dict[str, Decimal]:
    """The amounts per currency that a sync started now would send (what Sync Now's count counts)."""
    query = (
        sa.select(A.c.currency, _cents(A.c.amount))
        .select_from(_joined())
        .where(
            A.c.org_id == org_id,
            A.c.record_id.in_(queue.next_sync_candidates(conn, org_id)),  # the queue, not the history
            queue.next_sync(now),
        )
        .group_by(A.c.currency)
        .order_by(A.c.currency)
    )
    if record_types is not None:
        query = query.where(A.c.record_type.in_(list(record_types)))
    return _by_currency(conn.execute(query))


# --- Records by id or view, and their attempts ---------------------------------------------------


def list_rows(
    conn: sa.Connection,
    org_id: str,
    view: RecordView | None,
    record_ids: Sequence[str] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Any]]:
    """(how many match, one page of rows ordered by record id), the rows as `page_of_records` gives them."""
    clauses: list[sa.ColumnElement[bool]] = [A.c.org_id == org_id]
    if view == RecordView.PENDING:
        # By id: the waiting state rows and what intake would add, the size of the queue.
        clauses.append(A.c.record_id.in_(queue.pending_ids(conn, org_id)))
    elif view is not None and (clause := view_clause(view)) is not None:
        clauses.append(clause)
    if record_ids is not None:
        clauses.append(A.c.record_id.in_(list(record_ids)))
    total = conn.execute(sa.select(sa.func.count()).select_from(_joined()).where(*clauses)).scalar_one()
    state = [c for c in S.c if c.name not in A.c]
    unknown = sa.case((queue.outcome_unknown(), True), else_=False).label("outcome_unknown")
    query = (
        sa.select(*source_columns(), *state, unknown)
        .select_from(_joined())
        .where(*clauses)
        .order_by(A.c.record_id)
        .limit(limit)
        .offset(offset)
    )
    return int(total), [r._mapping for r in conn.execute(query)]


def failed_attempts(
    conn: sa.Connection, org_id: str, record_ids: Sequence[str], per_record: int
) -> dict[str, list[Any]]:
    """Each record's newest `per_record` failed attempts, newest first (one query for a page)."""
    if not record_ids:
        return {}
    query = (
        sa.select(T)
        .where(
            T.c.org_id == org_id, T.c.record_id.in_(list(record_ids)), T.c.outcome == AttemptOutcome.FAILED
        )
        .order_by(T.c.record_id, T.c.attempted_at.desc(), T.c.attempt_id.desc())
    )
    found: dict[str, list[Any]] = {}
    for row in conn.execute(query):
        kept = found.setdefault(row.record_id, [])
        if len(kept) < per_record:
            kept.append(row._mapping)
    return found


def attempts_of_record(conn: sa.Connection, org_id: str, record_id: str) -> list[Any] | None:
    """Every attempt on one of the org's records, newest first; None if the org has no such record."""
    exists = conn.execute(
        sa.select(A.c.record_id).where(A.c.org_id == org_id, A.c.record_id == record_id)
    ).first()
    if exists is None:
        return None
    query = (
        sa.select(T)
        .where(T.c.org_id == org_id, T.c.record_id == record_id)
        .order_by(T.c.attempted_at.desc(), T.c.attempt_id.desc())
    )
    return [r._mapping for r in conn.execute(query)]
