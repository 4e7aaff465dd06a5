"""Telling Dagster that an organization's configuration changed, after it is saved.

Schedules are built from the database when the code location loads, so a new or changed
schedule shows only after a reload; a new org needs its partition. Dagster being down must
never undo a saved change: failures come back as a warning line, and the partitions sensor
(within 30 s) and the next reload catch up on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from accsync_pipeline.service.dagster_gateway import DAGSTER_URL_ENV, dagster_url
from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.dagster_home import dagster_instance
from accsync_pipeline.service.dagster_runs import ensure_partition


@dataclass(frozen=True)
class DagsterUpdate:
    """Whether Dagster took the change, and one line saying what happened or what to do."""

    ok: bool
    message: str


def apply_to_dagster(org_id: str) -> DagsterUpdate:
    """Add the org's partition and, with a Dagster webserver, reload the location so schedules update."""
    url = dagster_url()
    try:
        if url:
            return _through_graphql(url, org_id)
        with dagster_instance() as instance:
            ensure_partition(instance, org_id)
    except Exception as e:  # whatever went wrong, the configuration is saved and must stay so
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return DagsterUpdate(
            ok=False,
            message=(
                f"saved, but Dagster was not updated ({detail}); its partitions sensor adds {org_id} "
                "within 30 s and schedules follow when the code location reloads"
            ),
        )
    return DagsterUpdate(
        ok=True,
        message=(
            f"partition {org_id} is in the local Dagster instance; a running Dagster shows schedule "
            f"changes when its code location reloads (set {DAGSTER_URL_ENV} to reload it from here)"
        ),
    )


def _through_graphql(url: str, org_id: str) -> DagsterUpdate:
    dagster = DagsterGraphQL(url)
    try:
        dagster.ensure_partition(org_id)
        dagster.reload_location()
    finally:
        dagster.close()
    return DagsterUpdate(ok=True, message=f"Dagster at {url} reloaded; schedules are up to date")
