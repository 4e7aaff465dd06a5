"""Launching a sync run: the request, its run config and tags, and
the `SyncLauncher` every launch goes through (implementations: `service.dagster_gateway`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from accsync_pipeline.domain.active_sync import ACTIVE_STATUSES as ACTIVE_STATUSES  # the names, kept here too
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.service.errors import Conflict, Unavailable

SYNC_OP = "export_approved_records"
# The statuses in which a sync counts as active (`domain.active_sync`), as Dagster's enum for its
# run-storage filters.
ACTIVE_RUN_STATUSES = tuple(dg.DagsterRunStatus(name) for name in sorted(ACTIVE_STATUSES))
TERMINAL_STATUSES = frozenset(s.value for s in FINISHED_STATUSES)


class SyncAlreadyRunning(Conflict):
    """A sync for this org is queued or running; a second one is refused."""

    def __init__(self, org_id: str, run_id: str) -> None:
        super().__init__(
            f"a sync for {org_id} is already queued or running (run {run_id}); wait for it to finish"
        )
        self.org_id = org_id
        self.run_id = run_id


class DagsterUnavailable(Unavailable):
    """Dagster could not be reached or refused the request; the message says which."""


@dataclass(frozen=True)
class DagsterRunInfo:
    run_id: str
    status: str
    org_id: str | None


@dataclass(frozen=True)
class SyncRequest:
    org_id: str
    trigger: str
    user_id: str | None = None
    record_ids: Sequence[str] | None = None
    record_types: Sequence[str] | None = None
    via: str | None = None  # "cli" when `accsync sync` launched it

    @property
    def tags(self) -> dict[str, str]:
        return sync_run_tags(self.org_id, self.trigger, self.user_id, self.via)

    @property
    def run_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self.record_ids is not None:
            config["record_ids"] = list(self.record_ids)
        if self.record_types is not None:
            config["record_types"] = list(self.record_types)
        return {"ops": {SYNC_OP: {"config": config}}}


class DagsterRuns(Protocol):
    """What deciding who may launch needs to know from Dagster."""

    def active_run_id(self, org_id: str) -> str | None: ...
    def run_info(self, run_id: str) -> DagsterRunInfo | None: ...


class SyncLauncher(DagsterRuns, Protocol):
    """Starts sync runs: through Dagster's webserver, or in this process (`dagster_gateway.sync_launcher`).

    Callers launch through `sync_claim.launch_exclusive`, which claims the org first.
    """

    def reserve_run_id(self, org_id: str) -> str | None:
        """Ready a launch for the org. A launcher that executes the run itself, to its end, before
        `launch_sync` returns chooses the run's id here, so that the org's claim names it from the
        start; None when Dagster names the run as it queues it."""
        ...

    def launch_sync(self, request: SyncRequest, run_id: str | None = None) -> str: ...
    def close(self) -> None: ...
