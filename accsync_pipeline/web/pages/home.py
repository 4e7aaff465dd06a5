"""Signing in, the start page, the global view of every org, and notifications."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accsync_pipeline.service.org_list import OrgFilter, org_list_page
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


@dataclass(frozen=True)
class OrgListQuery:
    """The global view's filter as it travels in the URL."""

    health: str = "all"  # all | failing (amber or red) | green | amber | red
    text: str = ""
    sort: str = "health"
    descending: bool = False
    page: int = 1

    def url(self, **changes: object) -> str:
        q = replace(self, **changes)  # type: ignore[arg-type]
        values = {
            "health": q.health if q.health != "all" else None,
            "q": q.text or None,
            "sort": q.sort if q.sort != "health" else None,
            "dir": "desc" if q.descending else None,
            "page": str(q.page) if q.page != 1 else None,
        }
        encoded = urlencode({k: v for k, v in values.items() if v})
        return f"?{encoded}" if encoded else "?"

    def sort_url(self, sort: str) -> str:
        return self.url(sort=sort, descending=not self.descending if sort == self.sort else False, page=1)


def org_list_query(
    health: Annotated[str, Query(pattern="^(all|failing|green|amber|red)$")] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(pattern="^(health|name|pending|failed|last_sync)$")] = "health",
    direction: Annotated[str, Query(alias="dir", pattern="^(asc|desc)$")] = "asc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> OrgListQuery:
    return OrgListQuery(health, q.strip(), sort, direction == "desc", page)


def _orgs_context(engine: PageEngine, now: Now, query: OrgListQuery) -> dict[str, object]:
    """Health totals over every org, then the filtered, searched, sorted page of them."""
    wanted = OrgFilter(query.health, query.text, query.sort, query.descending, query.page)
    with engine.connect() as conn:
        listed = org_list_page(conn, now, wanted)
    return {
        "statuses": listed.rows,
        "matching": listed.matching,
        "org_count": listed.totals.orgs,
        "totals": {"red": listed.totals.red, "amber": listed.totals.amber, "green": listed.totals.green},
        "failing": listed.totals.failing,
        "org_query": query,
        "page": listed.page,
        "pages": listed.pages,
        "first_shown": listed.first_shown,
        "fragment_query": query.url()[1:],
    }


@router.get("/orgs", response_class=HTMLResponse)
def all_orgs(
    request: Request,
    user: PageUser,
    engine: PageEngine,
    now: Now,
    query: Annotated[OrgListQuery, Depends(org_list_query)],
) -> Response:
    if user is None:
        return to_login(request)
    if not user.is_global_admin:
        return RedirectResponse(f"/orgs/{user.org_id}", status_code=303)
    context = {"title": "All organizations", **_orgs_context(engine, now, query)}
    return render(request, "orgs.html", context, user, unread_count(engine, user))


@router.get("/fragments/orgs", response_class=HTMLResponse)
def orgs_fragment(
    request: Request,
    user: PageUser,
    engine: PageEngine,
    now: Now,
    query: Annotated[OrgListQuery, Depends(org_list_query)],
) -> Response:
    if user is None or not user.is_global_admin:
        return Response("Not found", status_code=404 if user else 401)
    return render(request, "fragments/orgs_table.html", _orgs_context(engine, now, query))


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
