"""The admin service application: `accsync web` serves it (port 8080 by default)."""

from __future__ import annotations

from fastapi import FastAPI

from accsync_pipeline import __version__
from accsync_pipeline.web import api_docs, security
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
    return app
