"""Against a real dagster-webserver and daemon: runs start in workers forked from the warm process.

A run posts its records once, Cancel (GraphQL `terminateRun`) stops its worker and ends it
CANCELED, and a worker killed with SIGKILL is seen by Dagster's run monitoring (the launcher's
health check) or accsync's liveness sensor, which end the run FAILURE and free the org.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.launcher.run_worker import RUN_WORKER_TAG, RunWorker
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import LAUNCH, LOCATION, REPOSITORY
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline_tests.dagster_fixtures import DagsterStack, dagster_stack  # noqa: F401
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.ledger_counts import key_counts
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings

pytestmark = pytest.mark.slow
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
# A sync that lasts long enough (about 15 batches of 100, a second each) to be caught mid-export.
SLOW_RECORDS = 1500
SLOW_MS = 1000


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


TERMINATE = """
mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunFailure { message }
    ... on PythonError { message stack }
  }
}
"""


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def start_sync(
    stack: DagsterStack, sandbox: RunningSandbox, org_id: str, records: int
) -> tuple[sa.Engine, str]:
    engine = create_engine(stack.database_url)
    with engine.begin() as conn:
        add_org_with_admin(
            conn, sandbox_org(org_id, "dynamics", dynamics_settings(sandbox, max_concurrency=1))
        )
        add_sources(conn, org_id, records, prefix=org_id)
    # Launched as Dagster's own UI or a schedule would: the run itself claims its org.
    request = SyncRequest(org_id, "manual", f"{org_id}.admin")
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": "sync_job"},
        "runConfigData": request.run_config,
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in request.tags.items()]},
    }
    result = graphql(stack.url, LAUNCH, {"executionParams": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return engine, str(result["run"]["runId"])


def status(stack: DagsterStack, run_id: str) -> str | None:
    run = stack.instance.get_run_by_id(run_id)
    return run.status.value if run else None


def events(stack: DagsterStack, run_id: str) -> list[str]:
    """The run's event messages, for a failed assertion to show."""
    return [f"{e.dagster_event_type}: {e.message}" for e in stack.instance.all_logs(run_id)]


def worker_of(stack: DagsterStack, run_id: str) -> RunWorker | None:
    run = stack.instance.get_run_by_id(run_id)
    return RunWorker.from_tags(run.tags) if run else None


def exporting(engine: sa.Engine, org_id: str) -> bool:
    with engine.connect() as conn:
        row = run_store.latest_run(conn, org_id)
    return row is not None and row.status == "started" and 0 < row.done < row.total


def org_is_free(engine: sa.Engine, org_id: str, run_id: str) -> bool:
    with engine.connect() as conn:
        claim = claim_store.find_claim(conn, org_id)
    return claim is None or claim.run_id != run_id


def test_a_sync_runs_in_a_forked_worker_and_posts_each_record_once(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine, run_id = start_sync(dagster_stack, dynamics_sandbox, "warmrun", 12)
    wait_for(lambda: status(dagster_stack, run_id) in TERMINAL, 120, "the sync to end")
    assert status(dagster_stack, run_id) == "SUCCESS", events(dagster_stack, run_id)
    worker = worker_of(dagster_stack, run_id)
    assert worker is not None and worker.on_this_host, "the run did not start in a warm worker"
    # The worker that ran it is the one the run's own events name.
    started = [
        e.message
        for e in dagster_stack.instance.all_logs(run_id)
        if e.message and e.message.startswith("Started process for run")
    ]
    assert started == [f"Started process for run (pid: {worker.pid})."]
    wait_for(lambda: not worker.is_alive(), 30, "the worker to exit")
    keys = {idempotency_key("warmrun", f"warmrun{i:05d}").upper() for i in range(12)}
    counts = key_counts(dynamics_sandbox, "dynamics")
    assert {k: counts[k] for k in keys} == dict.fromkeys(keys, 1)
    engine.dispose()


def test_cancel_stops_the_worker_and_ends_the_run_canceled(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    dynamics_sandbox.set_faults(latency_ms=SLOW_MS)
    try:
        engine, run_id = start_sync(dagster_stack, dynamics_sandbox, "warmcancel", SLOW_RECORDS)
        wait_for(lambda: exporting(engine, "warmcancel"), 90, "the export to be under way")
        worker = worker_of(dagster_stack, run_id)
        assert worker is not None and worker.is_alive()
        # What Cancel sends: the webserver's run launcher terminates the worker.
        answer = graphql(dagster_stack.url, TERMINATE, {"runId": run_id})["terminateRun"]
        assert answer["__typename"] == "TerminateRunSuccess", answer
        wait_for(lambda: status(dagster_stack, run_id) in TERMINAL, 60, "the run to end")
        assert status(dagster_stack, run_id) == "CANCELED"
        wait_for(lambda: not worker.is_alive(), 30, "the worker to exit")
        wait_for(lambda: org_is_free(engine, "warmcancel", run_id), 30, "the org to be free")
    finally:
        dynamics_sandbox.set_faults(latency_ms=0)
    engine.dispose()


def test_a_killed_worker_is_seen_by_run_monitoring_and_the_org_freed(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    dynamics_sandbox.set_faults(latency_ms=SLOW_MS)
    try:
        engine, run_id = start_sync(dagster_stack, dynamics_sandbox, "warmkill", SLOW_RECORDS)
        wait_for(lambda: exporting(engine, "warmkill"), 90, "the export to be under way")
        worker = worker_of(dagster_stack, run_id)
        assert worker is not None
        os.kill(worker.pid, signal.SIGKILL)
        # Run monitoring (the launcher's health check, every 30 s) or accsync's liveness sensor,
        # whichever sees it first, ends the run; test_health_check.py pins the health check.
        wait_for(lambda: status(dagster_stack, run_id) == "FAILURE", 75, "the dead run to fail")
        failure = [
            e.message
            for e in dagster_stack.instance.all_logs(run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
        ]
        assert len(failure) == 1, failure
        wait_for(lambda: org_is_free(engine, "warmkill", run_id), 60, "the org to be free")
    finally:
        dynamics_sandbox.set_faults(latency_ms=0)
    run = dagster_stack.instance.get_run_by_id(run_id)
    assert run is not None and json.loads(run.tags[RUN_WORKER_TAG])["pid"] == worker.pid
    engine.dispose()
