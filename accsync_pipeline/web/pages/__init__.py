"""Server-rendered admin screens. Their first paint is rendered here; actions and live updates use the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from accsync_pipeline.web.pages import home, status

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
router.include_router(status.router)


def static_files() -> StaticFiles:
    """The screens' stylesheet and scripts, shipped in the package: nothing is fetched from elsewhere."""
    return StaticFiles(directory=STATIC_DIR)
