"""The JSON API under /api (see the OpenAPI page at /docs).

Every route under /api/orgs/{org_id} answers 404 alike for an org that does not exist and
for one the caller may not see.
"""

from __future__ import annotations

from fastapi import APIRouter

from accsync_pipeline.web.api import (
    events,
    exports,
    integration,
    notifications,
    orgs,
    records,
    runs,
    session,
    settings,
    sync,
)

router = APIRouter(prefix="/api")
for _module in (session, orgs, sync, runs, records, exports, settings, integration, notifications, events):
    router.include_router(_module.router)
