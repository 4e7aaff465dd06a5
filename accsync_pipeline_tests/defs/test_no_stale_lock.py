"""Against a real dagster-webserver and daemon: no org stays locked by a run that died or failed.

The liveness bound is shortened to 10 s here (ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS); the
liveness sensor runs every 15 s, so recovery must come within about 30 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import LAUNCH, LOCATION, REPOSITORY, DagsterGraphQL
from accsync_pipeline.service.dagster_runs import InstanceRuns
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.sync_claim import claim_org, launch_exclusive, release
from accsync_pipeline.service.sync_now import GraphQLLauncher
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.dagster_fixtures import (
    DagsterStack,
    dagster_stack,  # noqa: F401
)
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings

pytestmark = pytest.mark.slow
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
BOUND_SECONDS = 10
# The bound, the sensor's interval and the daemon's own tick.
RECOVERY_SECONDS = BOUND_SECONDS + 15 + 10
# A sync that lasts long enough to be killed mid-export on a busy machine: about 15 batches of
# 100, each held a second by the sandbox (400 records at 0.3 s could end before the test saw
# them under way).
SLOW_RECORDS = 1500
SLOW_MS = 1000


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[DagsterStack]:
    """The module's Dagster deployment, started with a short liveness bound."""
    saved = os.environ.get("ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS")
    os.environ["ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS"] = str(BOUND_SECONDS)
    try:
        yield request.getfixturevalue("dagster_stack")
    finally:
        if saved is None:
            os.environ.pop("ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS", None)
        else:
            os.environ["ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS"] = saved


def wait_for(predicate: object, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ledger_counts(sandbox: RunningSandbox) -> Counter[str]:
    return Counter(p["externalDocumentNumber"].lower() for p in sandbox.postings())


def exporting(engine: sa.Engine, org_id: str) -> bool:
    with engine.connect() as conn:
        run = run_store.latest_run(conn, org_id)
    return run is not None and run.status == "started" and 0 < run.done < run.total


def ended_and_freed(stack: DagsterStack, engine: sa.Engine, run_id: str) -> bool:
    run = stack.instance.get_run_by_id(run_id)
    with engine.connect() as conn:
        row = run_store.find_run(conn, run_id)
        claim = claim_store.find_claim(conn, row.org_id) if row else None
    return (
        run is not None
        and run.status.value == "FAILURE"
        and row is not None
        and row.status == "failure"
        and (claim is None or claim.run_id != run_id)
    )


def assert_exactly_once(engine: sa.Engine, sandbox: RunningSandbox, org_id: str, ids: list[str]) -> None:
    ledger = ledger_counts(sandbox)
    mine = {k: v for k, v in ledger.items() if k.startswith(idempotency_key(org_id, "").lower())}
    assert set(mine) == {idempotency_key(org_id, rid).lower() for rid in ids}
    assert set(mine.values()) == {1}, "a record was posted twice"
    with engine.connect() as conn:
        states = Counter(
            r[0]
            for r in conn.execute(
                sa.select(record_sync_state.c.status).where(record_sync_state.c.org_id == org_id)
            )
        )
    assert states == {"exported": len(ids)}


def test_a_killed_in_process_cli_sync_frees_its_org_within_the_bound(
    stack: DagsterStack, dynamics_sandbox: RunningSandbox
) -> None:
    engine = create_engine(stack.database_url)
    with engine.begin() as conn:
        add_org_with_admin(
            conn, sandbox_org("clikill", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1))
        )
        ids = add_sources(conn, "clikill", SLOW_RECORDS, prefix="C")
    dynamics_sandbox.set_faults(latency_ms=SLOW_MS)
    env = {k: v for k, v in os.environ.items() if k != "ACCSYNC_DAGSTER_URL"}  # in the CLI's own process
    command = [sys.executable, "-m", "accsync_pipeline.cli", "sync", "--org", "clikill", "--wait"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: exporting(engine, "clikill"), 60, "the export to be under way")
    with engine.connect() as conn:
        killed = run_store.latest_run(conn, "clikill")
    assert killed is not None
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)

    # Nothing but the daemon's liveness sensor: the run fails in Dagster, its row closes, the org is free.
    took = wait_for(
        lambda: ended_and_freed(stack, engine, killed.run_id), RECOVERY_SECONDS, "the dead run to end"
    )
    assert took < RECOVERY_SECONDS
    with engine.connect() as conn:
        row = run_store.find_run(conn, killed.run_id)
    assert row is not None and row.exported > 0, "the dead run's counts are kept"

    dynamics_sandbox.set_faults(latency_ms=0)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert_exactly_once(engine, dynamics_sandbox, "clikill", ids)
    engine.dispose()


def test_a_killed_run_worker_frees_its_org_and_the_next_sync_posts_each_record_once(
    stack: DagsterStack, dynamics_sandbox: RunningSandbox
) -> None:
    engine = create_engine(stack.database_url)
    with engine.begin() as conn:
        add_org_with_admin(
            conn,
            sandbox_org("workerkill", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1)),
        )
        ids = add_sources(conn, "workerkill", SLOW_RECORDS, prefix="W")
    dynamics_sandbox.set_faults(latency_ms=SLOW_MS)
    launcher = GraphQLLauncher(stack.url)
    run_id = launch_exclusive(engine, launcher, SyncRequest("workerkill", "manual", "workerkill.admin"))
    wait_for(lambda: exporting(engine, "workerkill"), 90, "the export to be under way")
    with engine.connect() as conn:
        row = run_store.find_run(conn, run_id)
    assert row is not None and row.worker_pid is not None and row.worker_pid != os.getpid()
    os.kill(row.worker_pid, signal.SIGKILL)

    wait_for(lambda: ended_and_freed(stack, engine, run_id), RECOVERY_SECONDS, "the dead run to end")
    dynamics_sandbox.set_faults(latency_ms=0)
    second = launch_exclusive(engine, launcher, SyncRequest("workerkill", "manual", "workerkill.admin"))
    wait_for(lambda: launcher.run_info(second).status in TERMINAL, 120, "the next sync")  # type: ignore[union-attr]
    assert launcher.run_info(second).status == "SUCCESS"  # type: ignore[union-attr]
    assert_exactly_once(engine, dynamics_sandbox, "workerkill", ids)
    launcher.close()
    engine.dispose()


def test_a_failing_run_materialized_from_the_ui_closes_its_row_and_frees_its_org(
    stack: DagsterStack, dynamics_sandbox: RunningSandbox
) -> None:
    engine = create_engine(stack.database_url)
    settings = dynamics_settings(dynamics_sandbox, client_secret_env="ACCSYNC_TEST_SECRET_NOBODY_SET")
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("uifail", "dynamics", settings))
        add_sources(conn, "uifail", 5, prefix="F")
    dagster = DagsterGraphQL(stack.url)
    dagster.ensure_partition("uifail")
    # The UI's "Materialize" on one partition: Dagster's implicit asset job, the partition tag only.
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": ["reimbursements"]}, {"path": ["honorariums"]}],
        },
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "uifail"}]},
    }
    result = dagster.execute(LAUNCH, {"executionParams": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    wait_for(lambda: dagster.run_status(run_id) in TERMINAL, 90, "the run from the UI")
    assert dagster.run_status(run_id) == "FAILURE"
    with engine.connect() as conn:
        row = run_store.find_run(conn, run_id)
    assert row is not None and row.status == "failure" and row.finished_at is not None
    assert row.error and "ACCSYNC_TEST_SECRET_NOBODY_SET" in row.error
    # The org is free: a claim is granted at once, and no run of it is active in Dagster.
    token = claim_org(engine, InstanceRuns(stack.instance), "uifail")
    release(engine, "uifail", token)
    dagster.close()
    engine.dispose()
