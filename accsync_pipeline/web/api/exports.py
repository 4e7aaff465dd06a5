"""CSV downloads for reconciliation: a record list exactly as filtered, and one run's report.

Both stream: rows leave as the database cursor yields them, so a download of every record
of an org never sits in memory. Amounts are decimal strings with a point (`1234.50`), times
ISO-8601 in the org's timezone. Text that a spreadsheet would run as a formula is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.service.failed_records import RecordDetails, stream_records
from accsync_pipeline.store import record_search
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.record_search import RecordView, RunRecord
from accsync_pipeline.web.api.models import errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, VisibleOrg
from accsync_pipeline.web.record_query import RecordQuery, record_query

router = APIRouter(tags=["exports"])
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

RECORD_COLUMNS = (
    "record_id", "status", "note", "record_type", "volunteer", "amount", "currency", "expense_date",
    "approved_at", "description", "last_error", "last_error_code", "skip_reason", "external_id",
    "last_run_id", "attempts",
)  # fmt: skip
RUN_COLUMNS = (
    "record_id", "outcome", "record_type", "volunteer", "amount", "currency", "expense_date",
    "attempted_at", "error", "error_code", "external_id", "sent_later_by_run",
)  # fmt: skip


def safe_text(value: str | None) -> str:
    """Text as a spreadsheet shows it, never as a formula it runs (CSV injection)."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _initials(name: str) -> str:
    return " ".join(f"{part[0]}." for part in name.split() if part)


def _volunteer(name: str, user: User) -> str:
    # As on the screens: the platform's administrators see initials only.
    return safe_text(_initials(name) if user.is_global_admin else name)


def _local(moment: datetime | None, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat() if moment else ""


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header, then each row as one CSV line (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _chain(header, rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _chain(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[Iterable[object]]:
    yield header
    yield from rows


def _download(lines: Iterator[str], filename: str) -> StreamingResponse:
    # A byte-order mark first: spreadsheets then read the Norwegian letters as UTF-8.
    def body() -> Iterator[bytes]:
        yield "\ufeff".encode()
        for line in lines:
            yield line.encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _streamed(
    engine: Engine, rows: Callable[[Any], Iterable[Iterable[object]]]
) -> Iterator[Iterable[object]]:
    """Rows read inside their own connection, opened when the download starts streaming."""
    with engine.connect() as conn:
        yield from rows(conn)


def _record_row(r: RecordDetails, org: OrgConfig, user: User) -> list[object]:
    return [
        r.record_id, r.status, r.note, r.record_type, _volunteer(r.person_name, user), f"{r.amount:.2f}",
        r.currency, r.expense_date.isoformat(), _local(r.approved_at, org.timezone), safe_text(r.description),
        safe_text(r.last_error), r.last_error_code or "", safe_text(r.skip_reason), r.external_id or "",
        r.last_run_id or "", r.attempt_count,
    ]  # fmt: skip


@router.get(
    "/orgs/{org_id}/records.csv",
    responses={**errors(401, 404, 503), 200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def records_csv(
    org: VisibleOrg, user: CurrentUser, engine: DbEngine, query: Annotated[RecordQuery, Depends(record_query)]
) -> StreamingResponse:
    """Every record of the list as filtered and sorted (all pages), as CSV."""
    view = query.view or RecordView.ALL
    search = query.search(org.org_id, view, paged=False)
    rows = _streamed(engine, lambda conn: (_record_row(r, org, user) for r in stream_records(conn, search)))
    return _download(csv_lines(RECORD_COLUMNS, rows), f"{org.org_id}-{view.value}-records.csv")


def _run_row(r: RunRecord, org: OrgConfig, user: User) -> list[object]:
    return [
        r.record_id, "exported" if r.outcome == "recovered" else r.outcome, r.record_type,
        _volunteer(r.person_name, user), f"{r.amount:.2f}", r.currency, r.expense_date.isoformat(),
        _local(r.attempted_at, org.timezone), safe_text(r.error), r.error_code or "", r.external_id or "",
        r.resolved_by_run_id or "",
    ]  # fmt: skip


@router.get(
    "/orgs/{org_id}/runs/{run_id}/records.csv",
    responses={**errors(401, 404, 503), 200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def run_report_csv(org: VisibleOrg, user: CurrentUser, engine: DbEngine, run_id: str) -> StreamingResponse:
    """The run's report: every record it tried, what became of it, and why."""
    with engine.connect() as conn:
        found = run_store.find_run(conn, run_id)
    if found is None or found.org_id != org.org_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "run not found")
    rows = _streamed(
        engine,
        lambda conn: (
            _run_row(r, org, user) for r in record_search.stream_run_records(conn, org.org_id, run_id)
        ),
    )
    return _download(csv_lines(RUN_COLUMNS, rows), f"{org.org_id}-run-{run_id[:8]}.csv")
