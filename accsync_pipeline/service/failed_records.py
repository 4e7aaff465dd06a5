"""Records by status with their details and error history, and Retry Selected / Retry All.

A retry releases the failed records at once (overriding and resetting their automatic
backoff) and launches ONE run for exactly those records, tagged `retry` with the user.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import SyncStatus, Trigger
from accsync_pipeline.service.errors import Conflict
from accsync_pipeline.service.launch import DagsterUnavailable, SyncRequest
from accsync_pipeline.service.sync_claim import launch_exclusive
from accsync_pipeline.service.sync_now import SyncDisabled, SyncLauncher
from accsync_pipeline.store import record_search
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.record_search import RecordSearch, RecordView
from accsync_pipeline.store.source_rows import parse_source_row

# What a record in flight is shown as once the run that sent it has ended: it may or may not be
# in the ledger, and the next sync looks it up before sending anything.
OUTCOME_UNKNOWN = "outcome_unknown"
ERRORS_LISTED = 10


class RecordFilter(StrEnum):
    FAILED = "failed"
    PENDING = "pending"
    SKIPPED = "skipped"
    EXPORTED = "exported"


class NothingToRetry(Conflict):
    def __init__(self, org_id: str) -> None:
        super().__init__(f"no failed records of {org_id} to retry among those selected")


@dataclass(frozen=True)
class Attempt:
    attempt_id: int
    run_id: str
    trigger: str
    outcome: str
    error: str | None
    error_code: str | None
    external_id: str | None
    resolved_by_run_id: str | None
    attempted_at: datetime


@dataclass(frozen=True)
class RecordDetails:
    record_id: str
    record_type: str
    status: str
    person_name: str
    amount: Decimal
    currency: str
    description: str
    expense_date: date
    approved_at: datetime
    attempt_count: int
    consecutive_failures: int
    last_error: str | None
    last_error_code: str | None
    skip_reason: str | None
    next_attempt_at: datetime | None
    external_id: str | None
    last_run_id: str | None
    errors: list[Attempt] = field(default_factory=list)

    @property
    def note(self) -> str:
        """Where the record stands, in words, for the lists and the record's page."""
        return status_note(self.status, self.skip_reason)


_STATUS_NOTES = {
    SyncStatus.PENDING.value: "Waiting for the next sync",
    SyncStatus.IN_FLIGHT.value: "Being sent now",
    OUTCOME_UNKNOWN: "Outcome unknown, will be checked on the next sync",
    SyncStatus.EXPORTED.value: "In the accounting system",
    SyncStatus.FAILED.value: "Failed",
}


def status_note(status: str, skip_reason: str | None = None) -> str:
    """A record's status in words: 'Being sent now' only while the run sending it is live."""
    if status == SyncStatus.SKIPPED and skip_reason:
        return f"Was skipped: {skip_reason}"
    return _STATUS_NOTES.get(status, status.replace("_", " ").capitalize())


def _shown_status(m: Any) -> str:
    if m["status"] is None:
        return SyncStatus.PENDING.value
    if m["status"] == SyncStatus.IN_FLIGHT and m["outcome_unknown"]:
        return OUTCOME_UNKNOWN
    if m["status"] in (SyncStatus.SKIPPED, SyncStatus.FAILED) and m["updated_at"] > m["source_updated_at"]:
        return SyncStatus.PENDING.value
    return str(m["status"])


def list_records(
    conn: sa.Connection,
    org_id: str,
    status: RecordFilter | None = None,
    record_ids: Sequence[str] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[int, list[RecordDetails]]:
    """(how many match, one page of them ordered by record id) with each one's latest failed attempts."""
    view = None if status is None else RecordView(status.value)
    total, rows = record_search.list_rows(conn, org_id, view, record_ids, limit, offset)
    errors = _failed_attempts(conn, org_id, [m["record_id"] for m in rows])
    return total, [_details(m, errors.get(m["record_id"], [])) for m in rows]


@dataclass(frozen=True)
class RecordPage:
    """One page of a search, how many match in all, and their money per currency."""

    total: int
    records: list[RecordDetails]
    money: dict[str, Decimal]


def search_records(conn: sa.Connection, search: RecordSearch) -> RecordPage:
    """A page of the org's records as filtered, sorted and paged in SQL, with each one's latest errors."""
    rows = record_search.page_of_records(conn, search)
    errors = _failed_attempts(conn, search.org_id, [m["record_id"] for m in rows])
    total, money = record_search.total_and_money(conn, search)
    return RecordPage(
        total=total, records=[_details(m, errors.get(m["record_id"], [])) for m in rows], money=money
    )


def stream_records(conn: sa.Connection, search: RecordSearch) -> Iterator[RecordDetails]:
    """Every matching record in the search's order, without error histories (for downloads)."""
    for m in record_search.stream_records(conn, search):
        yield _details(m, [])


def _details(m: Any, errors: list[Attempt]) -> RecordDetails:
    source = parse_source_row(m)
    return RecordDetails(
        record_id=source.record_id,
        record_type=source.record_type,
        status=_shown_status(m),
        person_name=source.person_name,
        amount=source.amount,
        currency=source.currency,
        description=source.description,
        expense_date=source.expense_date,
        approved_at=source.approved_at,
        attempt_count=int(m["attempt_count"] or 0),
        consecutive_failures=int(m["consecutive_failures"] or 0),
        last_error=m["last_error"],
        last_error_code=m["last_error_code"],
        skip_reason=m["skip_reason"],
        next_attempt_at=m["next_attempt_at"] if m["status"] == SyncStatus.FAILED else None,
        external_id=m["external_id"],
        last_run_id=m["last_run_id"],
        errors=errors,
    )


def _attempt(m: Any) -> Attempt:
    return Attempt(**{k: m[k] for k in Attempt.__dataclass_fields__})


def _failed_attempts(conn: sa.Connection, org_id: str, record_ids: list[str]) -> dict[str, list[Attempt]]:
    """Each record's newest failed attempts, newest first (one query for the page)."""
    found = record_search.failed_attempts(conn, org_id, record_ids, ERRORS_LISTED)
    return {record_id: [_attempt(m) for m in rows] for record_id, rows in found.items()}


def record_history(conn: sa.Connection, org_id: str, record_id: str) -> list[Attempt] | None:
    """Every attempt on one of the org's records, newest first; None if the org has no such record."""
    rows = record_search.attempts_of_record(conn, org_id, record_id)
    return None if rows is None else [_attempt(m) for m in rows]


def retry_failed(
    engine: Engine,
    launcher: SyncLauncher,
    org: OrgConfig,
    record_ids: Sequence[str] | None,
    user_id: str,
    now: datetime,
) -> tuple[str, list[str]]:
    """Release the org's failed records (the given ones, or all) and launch one run for them.

    The org is claimed first (one sync at a time), so that a refused retry leaves the records
    and their backoff alone. Released records are committed before the launch: the run must
    see them pending.
    """
    if not org.enabled:
        raise SyncDisabled(org.org_id)
    released: list[str] = []

    def release_records(request: SyncRequest) -> SyncRequest:
        with engine.begin() as conn:
            released.extend(record_store.release_for_manual_retry(conn, org.org_id, record_ids, now))
        if not released:
            raise NothingToRetry(org.org_id)
        return replace(request, record_ids=list(released))

    request = SyncRequest(org.org_id, Trigger.RETRY.value, user_id)
    try:
        return launch_exclusive(engine, launcher, request, release_records), released
    except DagsterUnavailable as e:
        if not released:
            raise
        raise DagsterUnavailable(f"{e}; the released records are pending and go with the next sync") from e
