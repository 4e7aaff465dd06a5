"""Server-rendered admin screens: first paint here; actions and live updates through the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from accsync_pipeline.web.pages import history, home, runs, settings, status

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
# /orgs/new is listed before /orgs/{org_id} so that it is not read as an org id.
router.include_router(settings.router)
router.include_router(status.router)
router.include_router(history.router)
router.include_router(runs.router)


def static_files() -> StaticFiles:
    """The screens' stylesheet and scripts, shipped in the package: nothing is fetched from elsewhere."""
    return StaticFiles(directory=STATIC_DIR)
