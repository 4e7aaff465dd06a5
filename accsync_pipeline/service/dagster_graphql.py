"""Dagster's GraphQL API, the way other processes (admin service, CLI) launch and watch runs.

Launching, run status, termination and reloading go through Dagster's own client
(`dagster_graphql.DagsterGraphQLClient`). It has no call for runs by tag, a run's tags or
adding a dynamic partition, so those three are raw queries sent by `execute`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError, ReloadRepositoryLocationStatus
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.requests import RequestsHTTPTransport

from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.defs.partitions import ORG_PARTITIONS
from accsync_pipeline.domain import active_sync
from accsync_pipeline.domain.active_sync import RunView, run_org
from accsync_pipeline.service.launch import DagsterRunInfo, DagsterUnavailable, SyncRequest

LOCATION = "accsync_pipeline"
REPOSITORY = "__repository__"

# Kept for the tests that launch the way the Dagster UI does (no accsync tags, no checks).
LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}"""
RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter, limit: 5) {
    __typename
    ... on Runs { results { runId status tags { key value } } }
    ... on Error { message }
  }
}"""
RUN_INFO = """
query RunInfo($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status tags { key value } }
    ... on Error { message }
  }
}"""
ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename ... on Error { message }
  }
}"""


class DagsterGraphQL:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self._endpoint = url.rstrip("/") + "/graphql"
        self._http = httpx.Client(timeout=timeout)
        transport = RequestsHTTPTransport(url=self._endpoint, use_json=True, timeout=int(timeout))
        self._dagster = DagsterGraphQLClient(self._endpoint, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _unavailable(self, error: DagsterGraphQLClientError, doing: str) -> DagsterUnavailable:
        """The client's error in one line: it wraps an unreachable server and embeds the query text."""
        cause = error.__cause__
        if isinstance(cause, TransportConnectionFailed):  # gql's wrapper of what requests raised
            cause = cause.__cause__ or cause
        if isinstance(cause, requests.RequestException | TransportConnectionFailed):
            return DagsterUnavailable(f"cannot reach Dagster at {self._endpoint}: {type(cause).__name__}")
        # (kind, message) for an answer Dagster gave; one text ending in the query for anything else.
        texts = [str(a).strip() for a in error.args if str(a).strip()] or [type(error).__name__]
        message = texts[-1].splitlines()[0].strip()
        if cause is not None:
            message = f"{message} ({type(cause).__name__})"
        return DagsterUnavailable(f"Dagster did not {doing}: {message}")

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(self._endpoint, json={"query": query, "variables": variables})
        except httpx.HTTPError as e:
            raise DagsterUnavailable(f"cannot reach Dagster at {self._endpoint}: {type(e).__name__}") from e
        if response.status_code != 200:
            raise DagsterUnavailable(f"Dagster answered HTTP {response.status_code} at {self._endpoint}")
        body = response.json()
        if body.get("errors"):
            raise DagsterUnavailable(f"Dagster refused the request: {body['errors'][0].get('message')}")
        return body["data"]  # type: ignore[no-any-return]

    def _tagged(self, org_id: str) -> Iterator[RunView]:
        """The org's active runs under each tag in turn; the second query only if asked for."""
        statuses = sorted(active_sync.ACTIVE_STATUSES)
        for key in active_sync.ACTIVE_RUN_TAGS:
            data = self.execute(
                RUNS, {"filter": {"tags": [{"key": key, "value": org_id}], "statuses": statuses}}
            )["runsOrError"]
            if data["__typename"] != "Runs":
                raise DagsterUnavailable(data.get("message", data["__typename"]))
            for run in data["results"]:
                tags = {t["key"]: t["value"] for t in run["tags"]}
                yield RunView(str(run["runId"]), str(run["status"]), tags)

    def active_run_id(self, org_id: str) -> str | None:
        """A queued or running sync of this org, whatever launched it (`domain.active_sync`)."""
        return active_sync.active_run_id(self._tagged(org_id), org_id)

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        data: dict[str, Any] = self.execute(RUN_INFO, {"runId": run_id})["runOrError"]
        if data["__typename"] == "RunNotFoundError":
            return None
        if data["__typename"] != "Run":
            raise DagsterUnavailable(data.get("message", data["__typename"]))
        tags = {t["key"]: t["value"] for t in data["tags"]}
        return DagsterRunInfo(run_id, str(data["status"]), run_org(tags))

    def ensure_partition(self, org_id: str) -> None:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
        data = self.execute(ADD_PARTITION, {"selector": selector, "name": ORG_PARTITIONS, "key": org_id})
        kind = data["addDynamicPartition"]["__typename"]
        if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
            raise DagsterUnavailable(data["addDynamicPartition"].get("message", kind))

    def launch_sync(self, request: SyncRequest) -> str:
        """Launch the sync job for the org's partition (callers claim the org first: `sync_claim`)."""
        self.ensure_partition(request.org_id)
        try:
            return self._dagster.submit_job_execution(
                SYNC_JOB_NAME,
                repository_location_name=LOCATION,
                repository_name=REPOSITORY,
                run_config=request.run_config,
                tags=request.tags,
            )
        except DagsterGraphQLClientError as e:
            raise self._unavailable(e, "launch the run") from e

    def run_status(self, run_id: str) -> str:
        try:
            return self._dagster.get_run_status(run_id).value
        except DagsterGraphQLClientError as e:
            raise self._unavailable(e, "say how the run stands") from e

    def terminate_run(self, run_id: str) -> str:
        """Ask Dagster to terminate the run (its run launcher stops the worker); the run's new status."""
        try:
            self._dagster.terminate_run(run_id)
        except DagsterGraphQLClientError as e:
            raise self._unavailable(e, "cancel the run") from e
        return self.run_status(run_id)

    def reload_location(self) -> None:
        """Reload the code location so that changed schedules show at once in the UI and the daemon."""
        try:
            reloaded = self._dagster.reload_repository_location(LOCATION)
        except DagsterGraphQLClientError as e:
            raise self._unavailable(e, "reload the code location") from e
        if reloaded.status is not ReloadRepositoryLocationStatus.SUCCESS:
            if reloaded.failure_type == "PythonError":
                raise DagsterUnavailable(f"the code location failed to load: {reloaded.message}")
            raise DagsterUnavailable(reloaded.message or str(reloaded.failure_type))
