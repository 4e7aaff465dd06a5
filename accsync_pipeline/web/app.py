"""The admin service application: `accsync web` serves it (port 8080 by default)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from accsync_pipeline import __version__
from accsync_pipeline.store.engine import DatabaseUnavailable, first_line
from accsync_pipeline.web import api_docs, errors, security
from accsync_pipeline.web.api import router as api_router
from accsync_pipeline.web.pages import router as pages_router
from accsync_pipeline.web.pages import static_files


def create_app() -> FastAPI:
    app = FastAPI(
        title="accsync admin service",
        version=__version__,
        description="Status, Sync Now, failed records and retry, schedules and notifications, scoped by org.",
        # Swagger UI and ReDoc load from a CDN; our own page lists the operations instead.
        docs_url=None,
        redoc_url=None,
    )
    security.install(app)
    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", static_files(), name="static")
    api_docs.install(app)
    errors.install(app)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(sa.exc.DBAPIError, _database_unavailable)
    return app


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A database the service cannot read answers 503 in one line: never a 500, never a green status."""
    if isinstance(exc, sa.exc.DBAPIError):
        detail = f"the accsync database cannot be read: {first_line(exc)}"
        if "no such table" in detail or "does not exist" in detail:
            detail += " (run `accsync db upgrade`)"
    else:
        detail = str(exc)
    return JSONResponse({"detail": detail}, status_code=503)
