"""Organizations: the status rows a caller may see, one org's status, and creating an org."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from accsync_pipeline.domain.org import ALL_RECORD_TYPES, DEFAULT_TIMEZONE
from accsync_pipeline.service.dagster_sync import DagsterUpdate, apply_to_dagster
from accsync_pipeline.service.org_config import add_org, save_change
from accsync_pipeline.service.org_list import ORGS_PER_PAGE, OrgFilter, org_list_page, page_statuses
from accsync_pipeline.service.status import org_statuses
from accsync_pipeline.web.api.models import OrgStatusOut, StrictIn, errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Now, VisibleOrg, require_global_admin

router = APIRouter(tags=["status"])
MAX_PER_PAGE = 1000


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
    summary: OrgsSummary = Field(description="Over every org the caller may see, whatever the filter")
    matching: int = Field(description="Orgs that match the filter and search")
    page: int
    pages: int
    per_page: int
    orgs: list[OrgStatusOut] = Field(description="The page of matching orgs, in the order asked for")


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
def list_orgs(
    user: CurrentUser,
    engine: DbEngine,
    now: Now,
    health: Annotated[str, Query(pattern="^(all|failing|green|amber|red)$")] = "all",
    q: Annotated[str, Query(max_length=200, description="Part of the org's name or id")] = "",
    sort: Annotated[str, Query(pattern="^(health|name|pending|failed|last_sync)$")] = "health",
    direction: Annotated[str, Query(alias="dir", pattern="^(asc|desc)$")] = "asc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = ORGS_PER_PAGE,
) -> OrgsOut:
    """Health totals of every org the caller may see (all for a global administrator), and a page of them.

    Worst health first by default; `health=failing` keeps amber and red.
    """
    wanted = OrgFilter(health, q.strip(), sort, direction == "desc", page, per_page)
    with engine.connect() as conn:
        listed = org_list_page(conn, now, wanted, None if user.is_global_admin else [user.org_id or ""])
        statuses = page_statuses(conn, now, listed)
    t = listed.totals
    summary = OrgsSummary(
        orgs=t.orgs,
        green=t.green,
        amber=t.amber,
        red=t.red,
        running=t.running,
        pending=t.pending,
        failed=t.failed,
    )
    return OrgsOut(
        summary=summary,
        matching=listed.matching,
        page=listed.page,
        pages=listed.pages,
        per_page=listed.per_page,
        orgs=[OrgStatusOut.of(s) for s in statuses],
    )


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
