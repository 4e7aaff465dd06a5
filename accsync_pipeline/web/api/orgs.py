"""Organizations: the status rows a caller may see, one org's status, and creating an org."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from accsync_pipeline.domain.org import ALL_RECORD_TYPES, DEFAULT_TIMEZONE
from accsync_pipeline.service.dagster_sync import DagsterUpdate, apply_to_dagster
from accsync_pipeline.service.org_config import add_org, save_change
from accsync_pipeline.service.status import org_statuses
from accsync_pipeline.web.api.models import OrgStatusOut, StrictIn, errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Now, VisibleOrg, require_global_admin

router = APIRouter(tags=["status"])


def get_config_applier() -> Callable[[str], DagsterUpdate]:
    """Tells Dagster about a saved change (partition, schedules); tests replace it."""
    return apply_to_dagster


ConfigApplier = Annotated[Callable[[str], DagsterUpdate], Depends(get_config_applier)]


class OrgsSummary(BaseModel):
    orgs: int
    green: int
    amber: int
    red: int
    running: int
    pending: int
    failed: int


class OrgsOut(BaseModel):
    summary: OrgsSummary
    orgs: list[OrgStatusOut]


class NewOrgIn(StrictIn):
    org_id: str = Field(description="The app's organization slug, ^[a-z0-9_]{1,40}$")
    name: str
    connector_type: str = Field(description="xledger | dynamics")
    connector_settings: dict[str, Any] = Field(
        default_factory=dict, description="Secrets appear only as names of environment variables (*_env)"
    )
    timezone: str = DEFAULT_TIMEZONE
    enabled: bool = True
    schedule: dict[str, Any] | None = None
    record_types: list[str] = Field(default_factory=lambda: list(ALL_RECORD_TYPES))
    sync_on_approval: bool = False


class NewOrgOut(BaseModel):
    status: OrgStatusOut
    dagster: str = Field(description="What Dagster made of the change, in one line")


@router.get("/orgs", responses=errors(401, 503))
def list_orgs(user: CurrentUser, engine: DbEngine, now: Now) -> OrgsOut:
    """Status of every org the caller may see: all of them for a global administrator."""
    with engine.connect() as conn:
        rows = org_statuses(conn, now, None if user.is_global_admin else [user.org_id or ""])
    levels = Counter(r.health.level.value for r in rows)
    summary = OrgsSummary(
        orgs=len(rows),
        green=levels["green"],
        amber=levels["amber"],
        red=levels["red"],
        running=sum(1 for r in rows if r.running),
        pending=sum(r.pending for r in rows),
        failed=sum(r.failed for r in rows),
    )
    return OrgsOut(summary=summary, orgs=[OrgStatusOut.of(r) for r in rows])


@router.post(
    "/orgs",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 503),
    dependencies=[Depends(require_global_admin)],
)
def create_org(body: NewOrgIn, engine: DbEngine, now: Now, apply: ConfigApplier) -> NewOrgOut:
    """Create an organization's integration (global administrators only)."""
    _, update = save_change(
        engine,
        apply,
        lambda conn: add_org(
            conn,
            body.org_id,
            body.name,
            body.connector_type,
            body.connector_settings,
            timezone=body.timezone,
            enabled=body.enabled,
            schedule_spec=body.schedule,
            record_types=body.record_types,
            sync_on_approval=body.sync_on_approval,
        ),
    )
    assert update is not None  # a new org always needs its partition
    with engine.connect() as conn:
        [created] = org_statuses(conn, now, [body.org_id])
    return NewOrgOut(status=OrgStatusOut.of(created), dagster=update.message)


@router.get("/orgs/{org_id}/status", responses=errors(401, 404, 503))
def org_status(org: VisibleOrg, engine: DbEngine, now: Now) -> OrgStatusOut:
    with engine.connect() as conn:
        [found] = org_statuses(conn, now, [org.org_id])
    return OrgStatusOut.of(found)
