"""Cancelling a queued or running sync (Dagster's run termination)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from accsync_pipeline.service.run_cancel import (
    RunTerminator,
    cancel_run,
    graphql_terminator,
)
from accsync_pipeline.web.api.models import errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Launcher, VisibleOrg

router = APIRouter(tags=["sync"])


def get_terminator() -> Iterator[RunTerminator]:
    terminator = graphql_terminator()
    try:
        yield terminator
    finally:
        terminator.close()


Terminator = Annotated[RunTerminator, Depends(get_terminator)]


class CancelledOut(BaseModel):
    run_id: str
    status: str


@router.post(
    "/orgs/{org_id}/runs/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(401, 403, 404, 409, 503),
)
def cancel(
    org: VisibleOrg,
    user: CurrentUser,
    run_id: str,
    engine: DbEngine,
    launcher: Launcher,
    terminator: Terminator,
) -> CancelledOut:
    """Cancel the org's queued or running sync; 409 once it has ended. Records in flight are looked up
    in the ledger by the next sync, so nothing is posted twice."""
    with engine.connect() as conn:
        new_status = cancel_run(conn, launcher, terminator, org.org_id, run_id)
    return CancelledOut(run_id=run_id, status=new_status)
