"""Dagster's GraphQL API, the way other processes (admin service, CLI) launch and watch runs."""

from __future__ import annotations

from typing import Any

import httpx

from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.service.launch import ACTIVE_RUN_TAGS, ACTIVE_STATUSES, DagsterUnavailable, SyncRequest

LOCATION = "accsync_pipeline"
REPOSITORY = "__repository__"

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
    ... on Runs { results { runId status } }
    ... on Error { message }
  }
}"""
RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } ... on Error { message } }
}"""
TERMINATE = """
mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { runId status } }
    ... on Error { message }
  }
}"""
ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename ... on Error { message }
  }
}"""
RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry { locationOrLoadError { __typename ... on PythonError { message } } }
    ... on Error { message }
  }
}"""


class DagsterGraphQL:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self._endpoint = url.rstrip("/") + "/graphql"
        self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(self._endpoint, json={"query": query, "variables": variables})
        except httpx.HTTPError as e:
            raise DagsterUnavailable(f"cannot reach Dagster at {self._endpoint}: {type(e).__name__}") from e
        if response.status_code != 200:
            raise DagsterUnavailable(f"Dagster answered HTTP {response.status_code} at {self._endpoint}")
        body = response.json()
        if body.get("errors"):
            raise DagsterUnavailable(f"Dagster refused the request: {body['errors'][0].get('message')}")
        return body["data"]  # type: ignore[no-any-return]

    def active_run_id(self, org_id: str) -> str | None:
        """A queued or running sync of this org, whatever launched it (UI runs carry only the partition)."""
        for key in ACTIVE_RUN_TAGS:
            data = self.execute(
                RUNS, {"filter": {"tags": [{"key": key, "value": org_id}], "statuses": list(ACTIVE_STATUSES)}}
            )["runsOrError"]
            if data["__typename"] != "Runs":
                raise DagsterUnavailable(data.get("message", data["__typename"]))
            if data["results"]:
                return str(data["results"][0]["runId"])
        return None

    def ensure_partition(self, org_id: str) -> None:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
        data = self.execute(
            ADD_PARTITION, {"selector": selector, "name": organization_partitions.name, "key": org_id}
        )
        kind = data["addDynamicPartition"]["__typename"]
        if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
            raise DagsterUnavailable(data["addDynamicPartition"].get("message", kind))

    def launch_sync(self, request: SyncRequest) -> str:
        """Launch the sync job for the org's partition (callers claim the org first: `sync_claim`)."""
        self.ensure_partition(request.org_id)
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": SYNC_JOB_NAME,
            },
            "runConfigData": request.run_config,
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in request.tags.items()]},
        }
        result = self.execute(LAUNCH, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            errors = result.get("errors") or [{"message": result.get("message", result["__typename"])}]
            raise DagsterUnavailable(f"Dagster did not launch the run: {errors[0]['message']}")
        return str(result["run"]["runId"])

    def run_status(self, run_id: str) -> str:
        data = self.execute(RUN_STATUS, {"runId": run_id})["runOrError"]
        if data["__typename"] != "Run":
            raise DagsterUnavailable(data.get("message", data["__typename"]))
        return str(data["status"])

    def terminate_run(self, run_id: str) -> str:
        """Ask Dagster to terminate the run (its run launcher stops the worker); the run's new status."""
        data = self.execute(TERMINATE, {"runId": run_id})["terminateRun"]
        if data["__typename"] != "TerminateRunSuccess":
            raise DagsterUnavailable(
                f"Dagster did not cancel the run: {data.get('message', data['__typename'])}"
            )
        return str(data["run"]["status"])

    def reload_location(self) -> None:
        """Reload the code location so that changed schedules show at once in the UI and the daemon."""
        data = self.execute(RELOAD, {"name": LOCATION})["reloadRepositoryLocation"]
        if data["__typename"] != "WorkspaceLocationEntry":
            raise DagsterUnavailable(data.get("message", data["__typename"]))
        loaded = data["locationOrLoadError"]
        if loaded and loaded["__typename"] == "PythonError":
            raise DagsterUnavailable(f"the code location failed to load: {loaded['message']}")
