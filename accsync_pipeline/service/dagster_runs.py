"""Dagster's run storage read directly (sensors, the in-process launcher, the liveness sweep).

"Which run is syncing this org" and "make sure the org has its partition" for processes that hold
the Dagster instance: the candidate runs are fetched here and judged by `domain.active_sync`, as
`DagsterGraphQL` does with the runs it asks a webserver for.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.defs.partitions import ORG_PARTITIONS
from accsync_pipeline.domain import active_sync
from accsync_pipeline.domain.active_sync import RunView, run_org
from accsync_pipeline.service.launch import ACTIVE_RUN_STATUSES, DagsterRunInfo


def _view(run: dg.DagsterRun) -> RunView:
    return RunView(run.run_id, run.status.value, run.tags)


def _tagged(instance: dg.DagsterInstance, org_id: str) -> Iterator[RunView]:
    """The org's newest active run under each tag in turn; the second query only if asked for."""
    statuses = list(ACTIVE_RUN_STATUSES)
    for key in active_sync.ACTIVE_RUN_TAGS:
        for run in instance.get_runs(RunsFilter(tags={key: org_id}, statuses=statuses), limit=1):
            yield _view(run)


def active_run_id(instance: dg.DagsterInstance, org_id: str) -> str | None:
    """A queued or running sync of the org, whatever launched it (`domain.active_sync`)."""
    return active_sync.active_run_id(_tagged(instance, org_id), org_id)


def active_runs_by_org(instance: dg.DagsterInstance) -> dict[str, str]:
    """Every org's queued or running sync, from ONE run-storage query, whatever the number of orgs.

    Active runs are few (the queue and the running ones), so they are read once and mapped to
    their org by tag, instead of asking run storage twice per org.
    """
    runs = instance.get_runs(RunsFilter(statuses=list(ACTIVE_RUN_STATUSES)))
    return active_sync.active_runs_by_org(_view(run) for run in runs)


def ensure_partition(instance: dg.DagsterInstance, org_id: str) -> None:
    if not instance.has_dynamic_partition(ORG_PARTITIONS, org_id):
        instance.add_dynamic_partitions(ORG_PARTITIONS, [org_id])


def run_info(instance: dg.DagsterInstance, run_id: str) -> DagsterRunInfo | None:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    return DagsterRunInfo(run_id, run.status.value, run_org(run.tags))


class InstanceRuns:
    """`launch.DagsterRuns` over the instance itself."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance

    def active_run_id(self, org_id: str) -> str | None:
        return active_run_id(self._instance, org_id)

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        return run_info(self._instance, run_id)
