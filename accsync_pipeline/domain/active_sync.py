"""Which run is syncing an org: one rule over runs, whichever way they were read from Dagster.

`service.dagster_runs` (the Dagster instance) and `service.dagster_graphql` (the webserver's
GraphQL API) only fetch candidate runs and ask this module which of them counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG

# A sync counts as active from the queue until Dagster says it finished; a sync job is never
# SUSPENDED. Dagster's run status names, as its GraphQL API and `DagsterRunStatus.value` spell them.
ACTIVE_STATUSES = frozenset({"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"})
# A run syncs the org named by either tag: runs from the Dagster UI carry only the partition.
ACTIVE_RUN_TAGS = (ORG_TAG, PARTITION_TAG)


@dataclass(frozen=True)
class RunView:
    """What the rule reads of a Dagster run."""

    run_id: str
    status: str
    tags: Mapping[str, str]


def run_org(tags: Mapping[str, str]) -> str | None:
    """The org a run syncs, as its history shows it: accsync's tag, else the partition."""
    return tags.get(ORG_TAG) or tags.get(PARTITION_TAG)


def _names(run: RunView) -> list[str]:
    return [org for org in (run.tags.get(key) for key in ACTIVE_RUN_TAGS) if org]


def active_run_id(runs: Iterable[RunView], org_id: str) -> str | None:
    """The first run, in the order given, that is active and names the org under either tag.

    Reads `runs` only as far as the answer, so a caller may fetch them lazily (one query per tag).
    The same answer as `active_runs_by_org(runs).get(org_id)`.
    """
    for run in runs:
        if run.status in ACTIVE_STATUSES and org_id in _names(run):
            return run.run_id
    return None


def active_runs_by_org(runs: Iterable[RunView]) -> dict[str, str]:
    """Every org named by an active run, mapped to the first such run in the order given."""
    found: dict[str, str] = {}
    for run in runs:
        if run.status in ACTIVE_STATUSES:
            for org in _names(run):
                found.setdefault(org, run.run_id)
    return found
