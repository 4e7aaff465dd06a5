"""The one "not found" page: the same for a missing org and for an org the user may not see."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import User
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import unread_count


def not_found(request: Request, user: User, engine: Engine) -> HTMLResponse:
    context = {"title": "Page not found"}
    return render(request, "not_found.html", context, user, unread_count(engine, user), status_code=404)
