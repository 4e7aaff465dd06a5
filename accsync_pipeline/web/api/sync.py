"""Sync Now (preview, launch, progress) and the sync log from Dagster's run storage."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import dagster as dg
from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from accsync_pipeline.service.history import RunHistoryEntry, org_history
from accsync_pipeline.service.sync_now import preview, run_progress, start_sync
from accsync_pipeline.store.record_search import money_of_next_sync
from accsync_pipeline.web.api.models import errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Launcher, Now, VisibleOrg, get_dagster_instance
from accsync_pipeline.web.formatting import format_money

router = APIRouter(tags=["sync"])


class PreviewOut(BaseModel):
    org_id: str
    enabled: bool
    total: int
    by_type: dict[str, int]
    amounts: dict[str, str] = Field(default_factory=dict, description='Per currency: {"NOK": "1234.50"}')
    amount_text: str = Field(default="", description="The amounts as the screens write them: kr 1 234,50")


class LaunchedOut(BaseModel):
    run_id: str


class RunOut(BaseModel):
    run_id: str
    status: str
    done: int
    total: int
    exported: int
    skipped: int
    failed: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class HistoryRunOut(BaseModel):
    run_id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    trigger: str | None
    user_id: str | None
    exported: int
    skipped: int
    failed: int
    skipped_records: list[dict[str, Any]]
    failed_records: list[dict[str, Any]]
    total: int
    error: str | None = Field(description="Why a failed run stopped, in words")
    outcome: str = Field(description="What the run did, e.g. 'Failed after exporting 250 of 400: ...'")


class DayOut(BaseModel):
    date: date
    exported: int
    failed: int


class HistoryOut(BaseModel):
    runs: list[HistoryRunOut]
    per_day: list[DayOut]


@router.get("/orgs/{org_id}/sync/preview", responses=errors(401, 404, 503))
def sync_preview(org: VisibleOrg, engine: DbEngine, now: Now) -> PreviewOut:
    """How many records of each included type a sync started now would send."""
    with engine.connect() as conn:
        found = preview(conn, org, now)
        money = money_of_next_sync(conn, org.org_id, now, org.record_types)
    return PreviewOut(
        org_id=found.org_id,
        enabled=found.enabled,
        total=found.total,
        by_type=found.by_type,
        amounts={currency: f"{amount:.2f}" for currency, amount in money.items()},
        amount_text=" + ".join(format_money(amount, currency) for currency, amount in money.items()),
    )


@router.post(
    "/orgs/{org_id}/sync", status_code=status.HTTP_202_ACCEPTED, responses=errors(401, 403, 404, 409, 503)
)
def sync_now(org: VisibleOrg, user: CurrentUser, engine: DbEngine, launcher: Launcher) -> LaunchedOut:
    """Launch a manual sync through Dagster; 409, naming the run, while the org has one queued or running."""
    return LaunchedOut(run_id=start_sync(engine, launcher, org, user.user_id))


@router.get("/orgs/{org_id}/runs/{run_id}", responses=errors(401, 404, 503))
def run(org: VisibleOrg, run_id: str, engine: DbEngine, launcher: Launcher) -> RunOut:
    """A run's progress (done/total) and outcome; 404 unless it is a sync of this org."""
    with engine.connect() as conn:
        found = run_progress(conn, launcher, org.org_id, run_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "run not found")
    return RunOut(
        run_id=found.run_id,
        status=found.status,
        done=found.done,
        total=found.total,
        exported=found.exported,
        skipped=found.skipped,
        failed=found.failed,
        started_at=found.started_at,
        finished_at=found.finished_at,
        error=found.error,
    )


def _per_day(entries: list[RunHistoryEntry], timezone: str) -> list[DayOut]:
    zone = ZoneInfo(timezone)
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        day = (e.started_at or e.created_at).astimezone(zone).date()
        days[day][0] += e.exported
        days[day][1] += e.failed
    return [DayOut(date=d, exported=x, failed=f) for d, (x, f) in sorted(days.items())]


@router.get("/orgs/{org_id}/history", responses=errors(401, 404, 503))
def history(
    org: VisibleOrg,
    instance: Annotated[dg.DagsterInstance, Depends(get_dagster_instance)],
    engine: DbEngine,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HistoryOut:
    """The org's sync runs, newest first, and exported/failed per day (in the org's timezone)."""
    entries = org_history(instance, org.org_id, limit, engine)
    runs = [
        HistoryRunOut(
            run_id=e.run_id,
            status=e.status,
            created_at=e.created_at,
            started_at=e.started_at,
            ended_at=e.ended_at,
            trigger=e.trigger,
            user_id=e.user_id,
            exported=e.exported,
            skipped=e.skipped,
            failed=e.failed,
            skipped_records=e.skipped_records,
            failed_records=e.failed_records,
            total=e.total,
            error=e.error,
            outcome=e.outcome,
        )
        for e in entries
    ]
    return HistoryOut(runs=runs, per_day=_per_day(entries, org.timezone))
