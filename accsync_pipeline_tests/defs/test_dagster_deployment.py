"""Against a real dagster-webserver and dagster-daemon: one sync per org, and recovery after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import dagster as dg
import pytest
import sqlalchemy as sa

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import LAUNCH, LOCATION, REPOSITORY, DagsterGraphQL
from accsync_pipeline.service.launch import SyncAlreadyRunning, SyncRequest
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.dagster_fixtures import DagsterStack, dagster_stack  # noqa: F401
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings

pytestmark = pytest.mark.slow
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def wait_for(predicate: object, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def ledger_counts(sandbox: RunningSandbox) -> Counter[str]:
    return Counter(p["externalDocumentNumber"] for p in sandbox.postings())


def launch_bypassing_the_check(dagster: DagsterGraphQL, request: SyncRequest) -> str:
    """What a schedule tick or the Dagster UI does: launch without asking accsync first."""
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": "sync_job"},
        "runConfigData": request.run_config,
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in request.tags.items()]},
    }
    result = dagster.execute(LAUNCH, {"executionParams": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return str(result["run"]["runId"])


def test_runs_of_one_org_never_overlap_whatever_launched_them(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine = create_engine(dagster_stack.database_url)
    with engine.begin() as conn:
        org = sandbox_org("queued", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1))
        add_org_with_admin(conn, org)
        ids = add_sources(conn, "queued", 1000, prefix="Q")
    dynamics_sandbox.set_faults(latency_ms=700)
    dagster = DagsterGraphQL(dagster_stack.url)

    first = dagster.launch_sync(SyncRequest("queued", "manual", "queued.admin"))
    with pytest.raises(SyncAlreadyRunning):
        dagster.launch_sync(SyncRequest("queued", "manual", "queued.admin"))
    second = launch_bypassing_the_check(dagster, SyncRequest("queued", "schedule"))

    wait_for(lambda: dagster.run_status(first) == "STARTED", what="the first run to start")
    # While the first runs, the second waits in the queue (run-tag concurrency limit on accsync/org).
    samples = 0
    while dagster.run_status(first) not in TERMINAL:
        second_status = dagster.run_status(second)
        if dagster.run_status(first) == "STARTED":
            assert second_status == "QUEUED"
            samples += 1
        time.sleep(0.3)
    assert samples >= 3
    wait_for(lambda: dagster.run_status(second) in TERMINAL, timeout=240, what="both runs to end")
    assert dagster.run_status(first) == "SUCCESS" and dagster.run_status(second) == "SUCCESS"

    records = {r.dagster_run.run_id: r for r in dagster_stack.instance.get_run_records()}
    assert records[first].end_time is not None and records[second].start_time is not None
    assert records[first].end_time <= records[second].start_time
    ledger = ledger_counts(dynamics_sandbox)
    assert set(ledger) == {idempotency_key("queued", rid) for rid in ids} and set(ledger.values()) == {1}
    dagster.close()
    engine.dispose()


def test_a_run_process_killed_mid_export_loses_nothing_and_posts_nothing_twice(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine = create_engine(dagster_stack.database_url)
    with engine.begin() as conn:
        org = sandbox_org("killed", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1))
        add_org_with_admin(conn, org)
        ids = add_sources(conn, "killed", 1000, prefix="K")
    dynamics_sandbox.set_faults(latency_ms=400)
    env = {k: v for k, v in os.environ.items() if k != "ACCSYNC_DAGSTER_URL"}  # run in the child process
    child = subprocess.Popen(
        [sys.executable, "-m", "accsync_pipeline.cli", "sync", "--org", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def exporting() -> bool:
        with engine.connect() as conn:
            run = run_store.latest_run(conn, "killed")
        return run is not None and 0 < run.done < run.total

    wait_for(exporting, what="the export to be under way")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    with engine.connect() as conn:
        states = Counter(
            r[0]
            for r in conn.execute(
                sa.select(record_sync_state.c.status).where(record_sync_state.c.org_id == "killed")
            )
        )
    assert states["in_flight"] > 0 and states["exported"] > 0 and states["exported"] < 1000
    # Dagster's run monitoring marks a run whose process vanished as failed; here we do it at once.
    killed_run = dagster_stack.instance.get_runs(dg.RunsFilter(tags={"accsync/org": "killed"}))[0]
    dagster_stack.instance.report_run_failed(killed_run)

    dynamics_sandbox.set_faults(latency_ms=0)
    dagster = DagsterGraphQL(dagster_stack.url)
    run_id = dagster.launch_sync(SyncRequest("killed", "manual", "killed.admin"))
    wait_for(lambda: dagster.run_status(run_id) in TERMINAL, timeout=180, what="the recovery run")
    assert dagster.run_status(run_id) == "SUCCESS"
    ledger = ledger_counts(dynamics_sandbox)
    assert set(ledger) == {idempotency_key("killed", rid) for rid in ids}
    assert set(ledger.values()) == {1}, "a record was posted twice"
    with engine.connect() as conn:
        final = Counter(
            r[0]
            for r in conn.execute(
                sa.select(record_sync_state.c.status).where(record_sync_state.c.org_id == "killed")
            )
        )
        summary = run_store.find_run(conn, run_id)
    assert final == {"exported": 1000}
    assert summary is not None and summary.status == "success"
    dagster.close()
    engine.dispose()
