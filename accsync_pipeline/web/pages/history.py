"""The sync history screen: every run with who started it and what it did, and a chart per day."""

from __future__ import annotations

from typing import Annotated

import dagster as dg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from accsync_pipeline.domain.run_starter import started_by
from accsync_pipeline.service.history import org_history
from accsync_pipeline.store import record_search
from accsync_pipeline.store import users as user_store
from accsync_pipeline.web.deps import Now, get_dagster_instance
from accsync_pipeline.web.pages.chart import daily_chart, per_day, today_in
from accsync_pipeline.web.pages.errors import not_found
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, find_visible_org, to_login, unread_count

router = APIRouter()
RUNS_SHOWN = 100


@router.get("/orgs/{org_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    org_id: str,
    user: PageUser,
    engine: PageEngine,
    instance: Annotated[dg.DagsterInstance, Depends(get_dagster_instance)],
    now: Now,
) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    if org is None:
        return not_found(request, user, engine)
    runs = org_history(instance, org.org_id, RUNS_SHOWN, engine)
    with engine.connect() as conn:
        names = {u.user_id: u.name for u in user_store.list_users(conn)}
        money = record_search.run_money(conn, [r.run_id for r in runs])
    context = {
        "org": org,
        "runs": runs,
        "starters": {r.run_id: started_by(r.tags, names) for r in runs},
        "money": money,
        "user_names": names,
        "chart": daily_chart(per_day(runs, org.timezone), today_in(org.timezone, now)),
        "tab": "history",
        "title": f"{org.name}: sync history",
        "timezone": org.timezone,
    }
    return render(request, "history.html", context, user, unread_count(engine, user))
