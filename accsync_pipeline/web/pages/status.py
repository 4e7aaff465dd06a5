"""The integration status screen: health, counts, Sync Now with live progress, and the record lists."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import dagster as dg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.service.failed_records import list_records, record_history, search_records
from accsync_pipeline.service.launch import TERMINAL_STATUSES, DagsterUnavailable
from accsync_pipeline.service.run_details import retry_state
from accsync_pipeline.service.status import OrgStatus, org_status
from accsync_pipeline.service.sync_now import SyncLauncher
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.record_search import RecordView, view_counts
from accsync_pipeline.web.deps import Now, get_dagster_instance, get_launcher
from accsync_pipeline.web.pages.errors import not_found
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, find_visible_org, to_login, unread_count
from accsync_pipeline.web.record_query import PAGE_SIZES, RecordQuery, record_query

router = APIRouter()
VIEW_LABELS = {
    RecordView.FAILED: "Failed",
    RecordView.PENDING: "Pending",
    RecordView.SKIPPED: "Skipped",
    RecordView.EXPORTED: "Exported",
    RecordView.ALL: "All",
}
PageLauncher = Annotated[SyncLauncher, Depends(get_launcher)]
PageInstance = Annotated[dg.DagsterInstance, Depends(get_dagster_instance)]


@dataclass(frozen=True)
class RunningView:
    """A sync of the org that is queued or running, whoever started it."""

    run_id: str
    done: int
    total: int
    trigger: str | None
    user_name: str | None
    waiting: bool = False
    retry: str | None = None  # "Retry 2 of 3 in 60 s" while Dagster waits to try the batch again


def _claim_is_over(launcher: SyncLauncher, run_id: str | None) -> bool:
    """A claim whose run Dagster says has ended (the next launch takes it over); unknown counts as live."""
    if run_id is None:
        return False
    try:
        info = launcher.run_info(run_id)
    except DagsterUnavailable:
        return False
    return info is not None and info.status in TERMINAL_STATUSES


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
        # Claimed by a launch (any process): queued at once, before Dagster has even started it.
        claim = claim_store.find_claim(conn, status.org_id)
    if claim is not None and not _claim_is_over(launcher, claim.run_id):
        return RunningView(claim.run_id or "", 0, 0, None, None, waiting=True)
    # Queued in Dagster but not yet begun (a run from the Dagster UI claims nothing): Dagster knows.
    try:
        active = launcher.active_run_id(status.org_id)
    except DagsterUnavailable:
        return None
    return RunningView(active, 0, 0, None, None, waiting=True) if active else None


def _with_retry_state(
    running: RunningView | None, instance: dg.DagsterInstance, org: OrgConfig, now: datetime
) -> RunningView | None:
    if running is None or running.waiting or not running.run_id:
        return running
    state = retry_state(instance, running.run_id, org.retry.max_retries, now)
    return replace(running, retry=state.text) if state else running


def _status_context(
    engine: Engine, launcher: SyncLauncher, org: OrgConfig, now: datetime, instance: dg.DagsterInstance
) -> dict[str, Any] | None:
    with engine.connect() as conn:
        status = org_status(conn, org.org_id, now)
    if status is None:
        return None
    running = _with_retry_state(_running(engine, launcher, status), instance, org, now)
    return {"org": org, "status": status, "running": running}


def _records_context(
    engine: Engine,
    user: User,
    org: OrgConfig,
    status: OrgStatus,
    query: RecordQuery,
    running: bool = False,
) -> dict[str, Any]:
    """The record list as the URL asks for it: one page, filtered, sorted and summed in SQL."""
    view = query.view or (RecordView.FAILED if status.failed else RecordView.PENDING)
    query = query.with_view(view)
    with engine.connect() as conn:
        found = search_records(conn, query.search(org.org_id, view))
        # The status has counted the queue already; the tabs reuse its pending and failed.
        counts = view_counts(conn, org.org_id, {"pending": status.pending, "failed": status.failed})
    pages = max(1, -(-found.total // query.per_page))
    return {
        "org": org,
        "view": view.value,
        "views": [(v.value, VIEW_LABELS[v], counts[v]) for v in RecordView],
        "query": query,
        "records": found.records,
        "total": found.total,
        "money": found.money,
        "page": query.page,
        "pages": pages,
        "first_shown": (query.page - 1) * query.per_page + 1 if found.records else 0,
        "last_shown": (query.page - 1) * query.per_page + len(found.records),
        "page_sizes": PAGE_SIZES,
        "only_ids": list(query.record_ids) if query.record_ids else None,
        "counts": {"failed": status.failed, "pending": status.pending},
        "timezone": org.timezone,
        "records_query": urlencode(query.params()),
        "csv_url": f"/api/orgs/{org.org_id}/records.csv{query.url(page=1)}",
        "sync_running": running,
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
    instance: PageInstance,
    query: Annotated[RecordQuery, Depends(record_query)],
) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    context = _status_context(engine, launcher, org, now, instance) if org else None
    if org is None or context is None:
        return not_found(request, user, engine)
    running = context["running"] is not None
    context.update(_records_context(engine, user, org, context["status"], query, running))
    context.update({"title": f"{org.name}: status", "tab": "status", "timezone": org.timezone})
    return render(request, "org_status.html", context, user, unread_count(engine, user))


def _fragment_org(engine: Engine, user: User | None, org_id: str) -> OrgConfig | None:
    return find_visible_org(engine, user, org_id) if user is not None else None


@router.get("/orgs/{org_id}/fragments/status", response_class=HTMLResponse)
def status_fragment(
    request: Request,
    org_id: str,
    user: PageUser,
    engine: PageEngine,
    launcher: PageLauncher,
    now: Now,
    instance: PageInstance,
) -> Response:
    org = _fragment_org(engine, user, org_id)
    context = _status_context(engine, launcher, org, now, instance) if org else None
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
    query: Annotated[RecordQuery, Depends(record_query)],
) -> Response:
    org = _fragment_org(engine, user, org_id)
    if org is None or user is None:
        return Response("Not found", status_code=404 if user else 401)
    with engine.connect() as conn:
        current = org_status(conn, org.org_id, now)
        claim = claim_store.find_claim(conn, org.org_id)
    if current is None:
        return Response("Not found", status_code=404)
    running = current.running is not None or claim is not None
    context = _records_context(engine, user, org, current, query, running)
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
        # The successful attempt of each run that later sent a failed try: its time and trigger.
        "sent_by": {a.run_id: a for a in attempts if a.outcome in ("exported", "recovered")},
        "full_names": not user.is_global_admin,
        "tab": "status",
        "title": f"Record {record_id}",
        "timezone": org.timezone,
    }
    return render(request, "record.html", context, user, unread_count(engine, user))
