"""The JSON API under /api (see the OpenAPI page at /docs)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api")
