"""Dagster's run storage read directly (sensors, the in-process launcher, the liveness sweep).

The home of "which run is syncing this org" and "make sure the org has its partition" for
processes that hold the Dagster instance; `DagsterGraphQL` asks the same of a webserver,
with the same statuses and tags (`service.launch`).
"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG
from accsync_pipeline.service.launch import ACTIVE_RUN_STATUSES, ACTIVE_RUN_TAGS, DagsterRunInfo


def active_run_id(instance: dg.DagsterInstance, org_id: str) -> str | None:
    """A queued or running sync of the org, whatever launched it (UI runs carry only the partition)."""
    statuses = list(ACTIVE_RUN_STATUSES)
    for key in ACTIVE_RUN_TAGS:
        runs = instance.get_runs(RunsFilter(tags={key: org_id}, statuses=statuses), limit=1)
        if runs:
            return runs[0].run_id
    return None


def active_runs_by_org(instance: dg.DagsterInstance) -> dict[str, str]:
    """Every org's queued or running sync, from ONE run-storage query, whatever the number of orgs.

    Active runs are few (the queue and the running ones), so they are read once and mapped to
    their org by tag, instead of asking run storage twice per org.
    """
    statuses = list(ACTIVE_RUN_STATUSES)
    found: dict[str, str] = {}
    for run in instance.get_runs(RunsFilter(statuses=statuses)):
        for key in ACTIVE_RUN_TAGS:
            org_id = run.tags.get(key)
            if org_id:
                found.setdefault(org_id, run.run_id)
                break
    return found


def ensure_partition(instance: dg.DagsterInstance, org_id: str) -> None:
    name = organization_partitions.name or "organization"
    if not instance.has_dynamic_partition(name, org_id):
        instance.add_dynamic_partitions(name, [org_id])


def run_info(instance: dg.DagsterInstance, run_id: str) -> DagsterRunInfo | None:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    return DagsterRunInfo(run_id, run.status.value, run.tags.get(ORG_TAG) or run.tags.get(PARTITION_TAG))


class InstanceRuns:
    """`launch.DagsterRuns` over the instance itself."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance

    def active_run_id(self, org_id: str) -> str | None:
        return active_run_id(self._instance, org_id)

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        return run_info(self._instance, run_id)
