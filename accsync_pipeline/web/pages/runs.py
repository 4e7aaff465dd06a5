"""One sync run's page: what started it, how long it took, retries, error, money, its records."""

from __future__ import annotations

from typing import Annotated

import dagster as dg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from accsync_pipeline.service.run_details import run_details
from accsync_pipeline.store import record_search
from accsync_pipeline.store import users as user_store
from accsync_pipeline.web.deps import get_dagster_instance
from accsync_pipeline.web.pages.errors import not_found
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, find_visible_org, to_login, unread_count

router = APIRouter()
RECORDS_PER_PAGE = 50
OUTCOMES = (("all", "All"), ("exported", "Exported"), ("failed", "Failed"), ("skipped", "Skipped"))


@router.get("/orgs/{org_id}/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    org_id: str,
    run_id: str,
    user: PageUser,
    engine: PageEngine,
    instance: Annotated[dg.DagsterInstance, Depends(get_dagster_instance)],
    outcome: Annotated[str, Query(pattern="^(all|exported|failed|skipped)$")] = "all",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    if org is None:
        return not_found(request, user, engine)
    with engine.connect() as conn:
        names = {u.user_id: u.name for u in user_store.list_users(conn)}
        run = run_details(instance, conn, org.org_id, run_id, names)
        if run is None:
            return not_found(request, user, engine)
        total, records = record_search.run_records(
            conn,
            org.org_id,
            run_id,
            None if outcome == "all" else outcome,
            RECORDS_PER_PAGE,
            (page - 1) * RECORDS_PER_PAGE,
        )
    context = {
        "org": org,
        "run": run,
        "records": records,
        "records_total": total,
        "outcome": outcome,
        "outcomes": OUTCOMES,
        "page": page,
        "pages": max(1, -(-total // RECORDS_PER_PAGE)),
        "first_shown": (page - 1) * RECORDS_PER_PAGE + 1,
        "full_names": not user.is_global_admin,
        "tab": "history",
        "title": f"{org.name}: sync run {run_id[:8]}",
        "timezone": org.timezone,
    }
    return render(request, "run.html", context, user, unread_count(engine, user))
