"""Records of an org by status (the failed list, the alert deep links), their history, and retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from accsync_pipeline.domain.org import User
from accsync_pipeline.service.failed_records import (
    Attempt,
    RecordDetails,
    record_history,
    retry_failed,
    search_records,
)
from accsync_pipeline.store.record_search import RecordView
from accsync_pipeline.web.api.models import StrictIn, errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Launcher, Now, VisibleOrg
from accsync_pipeline.web.record_query import RecordQuery, record_query

router = APIRouter(tags=["records"])
MAX_IDS = 1000
MAX_OFFSET = 10_000_000  # far beyond any org's records; keeps the value inside a 64-bit SQL integer


class AttemptOut(BaseModel):
    attempt_id: int
    run_id: str
    trigger: str
    outcome: str = Field(description="exported | failed | skipped | recovered")
    error: str | None
    error_code: str | None
    external_id: str | None
    resolved_by_run_id: str | None = Field(description="For a failed attempt: the run that later exported it")
    attempted_at: datetime

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(**{k: getattr(a, k) for k in cls.model_fields})


class RecordOut(BaseModel):
    record_id: str
    record_type: str
    status: str = Field(
        description="pending | in_flight (its run is live) | outcome_unknown (left in flight by a run "
        "that ended; checked on the next sync) | exported | failed | skipped"
    )
    note: str = Field(
        description="The status in words, e.g. 'Outcome unknown, will be checked on the next sync'"
    )
    person_name: str = Field(description="Initials only for a global administrator")
    amount: str = Field(description="Decimal string, e.g. 1234.50")
    currency: str
    description: str
    expense_date: date
    approved_at: datetime
    retry_count: int = Field(description="Attempts made so far")
    consecutive_failures: int
    last_error: str | None
    last_error_code: str | None
    skip_reason: str | None
    next_attempt_at: datetime | None = Field(description="Next automatic retry of a failed record")
    external_id: str | None
    last_run_id: str | None
    errors: list[AttemptOut] = Field(description="Newest failed attempts first")


class RetryIn(StrictIn):
    record_ids: list[str] | None = Field(
        default=None, max_length=MAX_IDS, description="None retries every failed record"
    )


class RetryOut(BaseModel):
    run_id: str
    record_ids: list[str]


def _initials(name: str) -> str:
    return " ".join(f"{part[0]}." for part in name.split() if part)


def _record_out(r: RecordDetails, user: User) -> RecordOut:
    # Volunteers' names are their own org's business; the platform's administrators see initials.
    name = r.person_name if not user.is_global_admin else _initials(r.person_name)
    return RecordOut(
        record_id=r.record_id,
        record_type=r.record_type,
        status=r.status,
        note=r.note,
        person_name=name,
        amount=f"{r.amount:.2f}",
        currency=r.currency,
        description=r.description,
        expense_date=r.expense_date,
        approved_at=r.approved_at,
        retry_count=r.attempt_count,
        consecutive_failures=r.consecutive_failures,
        last_error=r.last_error,
        last_error_code=r.last_error_code,
        skip_reason=r.skip_reason,
        next_attempt_at=r.next_attempt_at,
        external_id=r.external_id,
        last_run_id=r.last_run_id,
        errors=[AttemptOut.of(a) for a in r.errors],
    )


class RecordsOut(BaseModel):
    total: int = Field(description="Records matching the filter, on every page")
    money: dict[str, str] = Field(description='Their amounts summed per currency, e.g. {"NOK": "1234.50"}')
    records: list[RecordOut]


@router.get("/orgs/{org_id}/records", responses=errors(401, 404, 503))
def records(
    org: VisibleOrg,
    user: CurrentUser,
    engine: DbEngine,
    query: Annotated[RecordQuery, Depends(record_query)],
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Instead of page/per_page")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RecordsOut:
    """The org's records, filtered, sorted and paged in the database (the status screen's lists).

    Filter by `status`, `q` (volunteer, record id, amount, error text or code), expense date
    `from`/`to`, amount `min`/`max`, or `records` (ids); order by `sort` and `dir`; page by
    `page`/`per_page`, or by `limit`/`offset`.
    """
    search = query.search(org.org_id, query.view or RecordView.ALL)
    if limit is not None:
        search = replace(search, limit=limit, offset=offset)
    with engine.connect() as conn:
        found = search_records(conn, search)
    return RecordsOut(
        total=found.total,
        money={currency: f"{amount:.2f}" for currency, amount in found.money.items()},
        records=[_record_out(r, user) for r in found.records],
    )


@router.get("/orgs/{org_id}/records/{record_id}/history", responses=errors(401, 404, 503))
def history(org: VisibleOrg, record_id: str, engine: DbEngine) -> list[AttemptOut]:
    """Every attempt on the record, newest first; failed ones name the run that resolved them."""
    with engine.connect() as conn:
        attempts = record_history(conn, org.org_id, record_id)
    if attempts is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "record not found")
    return [AttemptOut.of(a) for a in attempts]


@router.post(
    "/orgs/{org_id}/retry", status_code=status.HTTP_202_ACCEPTED, responses=errors(401, 403, 404, 409, 503)
)
def retry(
    org: VisibleOrg, user: CurrentUser, body: RetryIn, engine: DbEngine, launcher: Launcher, now: Now
) -> RetryOut:
    """Retry the selected failed records (or all): their backoff is reset and ONE run sends them."""
    run_id, released = retry_failed(engine, launcher, org, body.record_ids, user.user_id, now)
    return RetryOut(run_id=run_id, record_ids=released)
