"""Signing in, the start page, the global view of every org, and notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accsync_pipeline.service.status import org_statuses
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.web.auth import dev_login_enabled
from accsync_pipeline.web.deps import Now
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, to_login, unread_count
from accsync_pipeline.web.security import safe_next

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only paths on this site: a sign-in link must not send anyone elsewhere."""
    return safe_next(target)


@router.get("/", response_class=HTMLResponse)
def start(request: Request, user: PageUser) -> Response:
    if user is None:
        return to_login(request)
    return RedirectResponse("/orgs" if user.is_global_admin else f"/orgs/{user.org_id}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login(
    request: Request, user: PageUser, engine: PageEngine, next: Annotated[str | None, Query()] = None
) -> Response:
    users, org_names = [], {}
    if dev_login_enabled():
        with engine.connect() as conn:
            users = user_store.list_users(conn)
            org_names = {o.org_id: o.name for o in org_store.list_orgs(conn)}
    context = {
        "title": "Sign in",
        "dev_login": dev_login_enabled(),
        "users": users,
        "org_names": org_names,
        "next_url": _safe_next(next),
    }
    return render(request, "login.html", context, user, unread_count(engine, user) if user else 0)


def _orgs_context(engine: PageEngine, now: Now) -> dict[str, object]:
    with engine.connect() as conn:
        statuses = org_statuses(conn, now)
    return {"statuses": statuses}


@router.get("/orgs", response_class=HTMLResponse)
def all_orgs(request: Request, user: PageUser, engine: PageEngine, now: Now) -> Response:
    if user is None:
        return to_login(request)
    if not user.is_global_admin:
        return RedirectResponse(f"/orgs/{user.org_id}", status_code=303)
    context = {"title": "All organizations", **_orgs_context(engine, now)}
    return render(request, "orgs.html", context, user, unread_count(engine, user))


@router.get("/fragments/orgs", response_class=HTMLResponse)
def orgs_fragment(request: Request, user: PageUser, engine: PageEngine, now: Now) -> Response:
    if user is None or not user.is_global_admin:
        return Response("Not found", status_code=404 if user else 401)
    return render(request, "fragments/orgs_table.html", _orgs_context(engine, now))


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, user: PageUser, engine: PageEngine) -> Response:
    if user is None:
        return to_login(request)
    with engine.connect() as conn:
        items = notification_store.list_for_user(conn, user.user_id)
        org_timezones = {o.org_id: o.timezone for o in org_store.list_orgs(conn)}
    context = {
        "title": "Notifications",
        "items": items,
        "timezones": org_timezones,
        "default_timezone": "Europe/Oslo",
    }
    return render(request, "notifications.html", context, user, unread_count(engine, user))
