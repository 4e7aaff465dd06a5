"""Who is looking at a page. An unusable cookie simply means "not signed in": the page offers sign-in."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.web.auth import COOKIE_NAME, AuthNotConfigured, InvalidToken, verify_token
from accsync_pipeline.web.deps import get_engine, known_user, may_see


def page_user(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> User | None:
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        return known_user(engine, verify_token(token))
    except (InvalidToken, AuthNotConfigured):
        return None


PageUser = Annotated[User | None, Depends(page_user)]
PageEngine = Annotated[Engine, Depends(get_engine)]


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def find_visible_org(engine: Engine, user: User, org_id: str) -> OrgConfig | None:
    """The org if this user may see it; None alike for "not yours" and "no such org"."""
    if not may_see(user, org_id):
        return None
    with engine.connect() as conn:
        return org_store.find_org(conn, org_id)


def unread_count(engine: Engine, user: User) -> int:
    with engine.connect() as conn:
        return notification_store.unread_count(conn, user.user_id)
