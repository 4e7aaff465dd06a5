"""Where accsync meets Dagster: which launcher starts a sync, and at which address.

`ACCSYNC_DAGSTER_URL` is read here and nowhere else. Set, a sync goes through Dagster's
webserver: queued, limited to one per org by the run-tag limit, and executed by the run
launcher like any other run. Unset, it runs in the calling process against the instance
under DAGSTER_HOME. Both are a `SyncLauncher`; `sync_claim.launch_exclusive` claims the org
before either launches.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.dagster_home import dagster_instance
from accsync_pipeline.service.launch import DagsterRunInfo, SyncLauncher, SyncRequest

DAGSTER_URL_ENV = "ACCSYNC_DAGSTER_URL"
DAGSTER_UI_URL_ENV = "ACCSYNC_DAGSTER_UI_URL"
# Where `dagster dev` and `accsync run` put the webserver, for links and cancelling when unset.
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"

__all__ = [
    "DAGSTER_URL_ENV",
    "GraphQLLauncher",
    "SyncLauncher",
    "dagster_ui_url",
    "dagster_url",
    "dagster_webserver",
    "sync_launcher",
]


def dagster_url() -> str | None:
    """The Dagster webserver accsync launches through; None to run syncs in this process."""
    return os.environ.get(DAGSTER_URL_ENV) or None


def dagster_ui_url() -> str:
    """Where people open Dagster's UI: ACCSYNC_DAGSTER_UI_URL when it is elsewhere than the API."""
    return os.environ.get(DAGSTER_UI_URL_ENV) or dagster_url() or DEFAULT_DAGSTER_URL


def dagster_webserver(url: str | None = None) -> DagsterGraphQL:
    """The webserver's API, for what only it can do (terminate a run, reload the code location)."""
    # Short: a status page asks this too, and must not hang on a Dagster that does not answer.
    return DagsterGraphQL(url or dagster_url() or DEFAULT_DAGSTER_URL, timeout=10)


class GraphQLLauncher:
    """`SyncLauncher` through Dagster's webserver: Dagster names the run and runs it."""

    def __init__(self, url: str | None = None) -> None:
        self._client = dagster_webserver(url)

    def reserve_run_id(self, org_id: str) -> None:
        return None

    def launch_sync(self, request: SyncRequest, run_id: str | None = None) -> str:
        return self._client.launch_sync(request)

    def active_run_id(self, org_id: str) -> str | None:
        return self._client.active_run_id(org_id)

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        return self._client.run_info(run_id)

    def close(self) -> None:
        self._client.close()


def sync_launcher(
    instance: Callable[[], dg.DagsterInstance] = dagster_instance, engine: Engine | None = None
) -> SyncLauncher:
    """The launcher for this process: the webserver when ACCSYNC_DAGSTER_URL names one, else in-process.

    `instance` is asked for only when the sync runs here; `engine` is the caller's, if it has one.
    """
    url = dagster_url()
    if url:
        return GraphQLLauncher(url)
    # Imported here: the job's definitions (every asset, connector and sensor module) are needed
    # only to run a sync in this process, not by the processes that talk to a webserver.
    from accsync_pipeline.service.in_process import InProcessLauncher

    return InProcessLauncher(instance(), engine)
