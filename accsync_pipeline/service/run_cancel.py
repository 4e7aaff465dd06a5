"""Cancelling a sync run: Dagster's own run termination (GraphQL `terminateRun`), for the org's runs only.

Termination stops the run's worker; records it had in flight are looked up in the ledger by the
next sync before anything is sent again, so cancelling never risks a second posting.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from accsync_pipeline.service.dagster_gateway import dagster_webserver
from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.errors import Conflict, NotFound
from accsync_pipeline.service.launch import ACTIVE_STATUSES, TERMINAL_STATUSES, SyncLauncher
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import runs as run_store


class RunNotFound(NotFound):
    """No such run of this org."""


class RunNotCancellable(Conflict):
    """The run has ended already, or is in a state that cannot be cancelled; the message says which."""


class RunTerminator(Protocol):
    def terminate_run(self, run_id: str) -> str: ...
    def close(self) -> None: ...


def graphql_terminator() -> DagsterGraphQL:
    """Dagster's webserver: its run launcher is what can stop a run's worker."""
    return dagster_webserver()


def _owner(conn: sa.Connection, launcher: SyncLauncher, run_id: str) -> tuple[str | None, str | None]:
    """(org, Dagster status) of the run, from accsync's summary, the org's claim or Dagster's tags."""
    info = launcher.run_info(run_id)
    summary = run_store.find_run(conn, run_id)
    if summary is not None:
        return summary.org_id, info.status if info else None
    claimed = [c.org_id for c in claim_store.all_claims(conn) if c.run_id == run_id]
    if claimed:
        return claimed[0], info.status if info else None
    return (info.org_id, info.status) if info else (None, None)


def cancel_run(
    conn: sa.Connection, launcher: SyncLauncher, terminator: RunTerminator, org_id: str, run_id: str
) -> str:
    """Terminate the org's queued or running sync; its Dagster status after the request."""
    owner, status = _owner(conn, launcher, run_id)
    if owner != org_id:
        raise RunNotFound("run not found")
    if status in TERMINAL_STATUSES:
        raise RunNotCancellable(f"the run has ended already ({status.lower()}); there is nothing to cancel")
    if status is not None and status not in ACTIVE_STATUSES:
        raise RunNotCancellable(f"the run cannot be cancelled while it is {status.lower()}")
    return terminator.terminate_run(run_id)
