"""When and what an org syncs: schedule, record types, retries, alert thresholds; and the schedule preview."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from accsync_pipeline.domain.org import DEFAULT_TIMEZONE, OrgConfig
from accsync_pipeline.domain.schedule import stored_schedule, view_schedule
from accsync_pipeline.service.org_config import save_change, update_sync_settings
from accsync_pipeline.web.api.models import StrictIn, errors
from accsync_pipeline.web.api.orgs import ConfigApplier
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Now, VisibleOrg

router = APIRouter(tags=["settings"])
UPCOMING = 5


class SettingsOut(BaseModel):
    org_id: str
    timezone: str
    schedule: dict[str, Any] = Field(description='e.g. {"kind": "daily", "time": "02:00"}')
    schedule_description: str
    next_runs: list[datetime] = Field(description="In the org's timezone")
    record_types: list[str]
    sync_on_approval: bool
    retry: dict[str, int]
    auto_retry: dict[str, int]
    alerts: dict[str, int]
    dagster: str | None = Field(default=None, description="After a change: what Dagster made of it")


class SettingsIn(StrictIn):
    """Only the settings given change; `retry`, `auto_retry` and `alerts` may name some of their fields."""

    schedule: dict[str, Any] | None = None
    record_types: list[str] | None = None
    retry: dict[str, int] | None = None
    auto_retry: dict[str, int] | None = None
    alerts: dict[str, int] | None = None
    sync_on_approval: bool | None = None
    timezone: str | None = None


class DescribeIn(StrictIn):
    cron: str | None = Field(default=None, description="A cron expression, or give `spec`")
    spec: dict[str, Any] | None = Field(default=None, description="A schedule spec as stored in settings")
    timezone: str = DEFAULT_TIMEZONE
    count: Annotated[int, Field(ge=0, le=50)] = UPCOMING


class DescribeOut(BaseModel):
    valid: bool
    cron: str | None
    description: str | None
    next_runs: list[datetime]
    error: str | None


def settings_out(org: OrgConfig, now: datetime, dagster: str | None = None) -> SettingsOut:
    view = view_schedule(org.schedule, org.timezone, now, UPCOMING)
    return SettingsOut(
        org_id=org.org_id,
        timezone=org.timezone,
        schedule=org.schedule.to_spec(),
        schedule_description=view.description,
        next_runs=list(view.next_runs),
        record_types=list(org.record_types),
        sync_on_approval=org.sync_on_approval,
        retry=dataclasses.asdict(org.retry),
        auto_retry=dataclasses.asdict(org.auto_retry),
        alerts=dataclasses.asdict(org.alerts),
        dagster=dagster,
    )


@router.get("/orgs/{org_id}/settings", responses=errors(401, 404, 503))
def get_settings(org: VisibleOrg, now: Now) -> SettingsOut:
    return settings_out(org, now)


@router.put("/orgs/{org_id}/settings", responses=errors(401, 403, 404, 503))
def put_settings(
    org: VisibleOrg, body: SettingsIn, engine: DbEngine, now: Now, apply: ConfigApplier
) -> SettingsOut:
    """Change the settings given; every problem comes back at once (422) and nothing is saved then.

    A changed schedule, timezone or enabled state reloads Dagster's code location.
    """
    change, update = save_change(
        engine,
        apply,
        lambda conn: update_sync_settings(
            conn,
            org.org_id,
            schedule_spec=body.schedule,
            record_types=body.record_types,
            retry=body.retry,
            auto_retry=body.auto_retry,
            alerts=body.alerts,
            sync_on_approval=body.sync_on_approval,
            timezone=body.timezone,
        ),
    )
    return settings_out(change.after, now, update.message if update else None)


@router.post("/schedule/describe", responses=errors(401, 503))
def describe_schedule(body: DescribeIn, user: CurrentUser, now: Now) -> DescribeOut:
    """Check a cron expression or schedule spec: its normal form, description and next runs, or the error."""
    if body.spec is not None:
        schedule = stored_schedule(body.spec)
    elif body.cron is not None:
        schedule = stored_schedule({"kind": "custom", "cron": body.cron})
    else:
        return DescribeOut(
            valid=False,
            cron=None,
            description=None,
            next_runs=[],
            error="give a cron expression or a schedule spec",
        )
    view = view_schedule(schedule, body.timezone, now, body.count)
    if not view.valid:
        return DescribeOut(valid=False, cron=None, description=None, next_runs=[], error=view.problem)
    return DescribeOut(
        valid=True, cron=view.cron, description=view.description, next_runs=list(view.next_runs), error=None
    )
