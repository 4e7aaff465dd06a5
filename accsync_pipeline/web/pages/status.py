"""The integration status screen: health, counts, Sync Now with live progress, and the record lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.service.failed_records import RecordFilter, list_records, record_history
from accsync_pipeline.service.launch import DagsterUnavailable
from accsync_pipeline.service.status import OrgStatus, org_status
from accsync_pipeline.service.sync_now import SyncLauncher
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.web.deps import Now, get_launcher
from accsync_pipeline.web.pages.errors import not_found
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, find_visible_org, to_login, unread_count

router = APIRouter()
RECORDS_SHOWN = 200
PageLauncher = Annotated[SyncLauncher, Depends(get_launcher)]


@dataclass(frozen=True)
class RunningView:
    """A sync of the org that is queued or running, whoever started it."""

    run_id: str
    done: int
    total: int
    trigger: str | None
    user_name: str | None
    waiting: bool = False


def _running(engine: Engine, launcher: SyncLauncher, status: OrgStatus) -> RunningView | None:
    with engine.connect() as conn:
        if status.running is not None:
            run = run_store.find_run(conn, status.running.run_id)
            user = user_store.find_user(conn, run.user_id) if run and run.user_id else None
            return RunningView(
                status.running.run_id,
                status.running.done,
                status.running.total,
                run.trigger if run else None,
                user.name if user else None,
            )
    # Queued in Dagster but not yet begun: accsync has no summary for it yet, Dagster knows.
    try:
        active = launcher.active_run_id(status.org_id)
    except DagsterUnavailable:
        return None
    return RunningView(active, 0, 0, None, None, waiting=True) if active else None


def _status_context(
    engine: Engine, launcher: SyncLauncher, org: OrgConfig, now: datetime
) -> dict[str, Any] | None:
    with engine.connect() as conn:
        status = org_status(conn, org.org_id, now)
    if status is None:
        return None
    return {"org": org, "status": status, "running": _running(engine, launcher, status)}


def _split_ids(records: str | None) -> list[str] | None:
    if not records:
        return None
    ids = [r.strip() for r in records.split(",") if r.strip()]
    return ids or None


def _records_context(
    engine: Engine, user: User, org: OrgConfig, status: OrgStatus, view: str | None, records: str | None
) -> dict[str, Any]:
    chosen = view if view in ("failed", "pending") else ("failed" if status.failed else "pending")
    only_ids = _split_ids(records)
    with engine.connect() as conn:
        total, rows = list_records(conn, org.org_id, RecordFilter(chosen), only_ids, limit=RECORDS_SHOWN)
    query = {"status": chosen, **({"records": ",".join(only_ids)} if only_ids else {})}
    return {
        "org": org,
        "view": chosen,
        "records": rows,
        "more": total > len(rows),
        "only_ids": only_ids,
        "counts": {"failed": status.failed, "pending": status.pending},
        "timezone": org.timezone,
        "records_query": urlencode(query),
        # Volunteers' names are their own org's business; platform administrators see initials.
        "full_names": not user.is_global_admin,
    }


@router.get("/orgs/{org_id}", response_class=HTMLResponse)
def status_page(
    request: Request,
    org_id: str,
    user: PageUser,
    engine: PageEngine,
    launcher: PageLauncher,
    now: Now,
    status: Annotated[str | None, Query()] = None,
    records: Annotated[str | None, Query()] = None,
) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    context = _status_context(engine, launcher, org, now) if org else None
    if org is None or context is None:
        return not_found(request, user, engine)
    context.update(_records_context(engine, user, org, context["status"], status, records))
    context.update({"title": f"{org.name}: status", "tab": "status", "timezone": org.timezone})
    return render(request, "org_status.html", context, user, unread_count(engine, user))


def _fragment_org(engine: Engine, user: User | None, org_id: str) -> OrgConfig | None:
    return find_visible_org(engine, user, org_id) if user is not None else None


@router.get("/orgs/{org_id}/fragments/status", response_class=HTMLResponse)
def status_fragment(
    request: Request, org_id: str, user: PageUser, engine: PageEngine, launcher: PageLauncher, now: Now
) -> Response:
    org = _fragment_org(engine, user, org_id)
    context = _status_context(engine, launcher, org, now) if org else None
    if context is None:
        return Response("Not found", status_code=404 if user else 401)
    return render(request, "fragments/status.html", context)


@router.get("/orgs/{org_id}/fragments/records", response_class=HTMLResponse)
def records_fragment(
    request: Request,
    org_id: str,
    user: PageUser,
    engine: PageEngine,
    now: Now,
    status: Annotated[str | None, Query()] = None,
    records: Annotated[str | None, Query()] = None,
) -> Response:
    org = _fragment_org(engine, user, org_id)
    if org is None or user is None:
        return Response("Not found", status_code=404 if user else 401)
    with engine.connect() as conn:
        current = org_status(conn, org.org_id, now)
    if current is None:
        return Response("Not found", status_code=404)
    context = _records_context(engine, user, org, current, status, records)
    return render(request, "fragments/records.html", context)


@router.get("/orgs/{org_id}/records/{record_id}", response_class=HTMLResponse)
def record_page(
    request: Request, org_id: str, record_id: str, user: PageUser, engine: PageEngine
) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    if org is None:
        return not_found(request, user, engine)
    with engine.connect() as conn:
        _, found = list_records(conn, org.org_id, None, [record_id], limit=1)
        attempts = record_history(conn, org.org_id, record_id)
    if not found or attempts is None:
        return not_found(request, user, engine)
    context = {
        "org": org,
        "record": found[0],
        "attempts": attempts,
        "full_names": not user.is_global_admin,
        "tab": "status",
        "title": f"Record {record_id}",
        "timezone": org.timezone,
    }
    return render(request, "record.html", context, user, unread_count(engine, user))
