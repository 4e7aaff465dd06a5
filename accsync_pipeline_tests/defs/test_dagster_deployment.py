"""Against a real dagster-webserver and daemon: one sync per org, recovery after SIGKILL, schedule reload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pytest
import sqlalchemy as sa

from accsync_pipeline.defs.schedule_plan import schedule_name
from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.domain.schedule import next_runs
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import LAUNCH, LOCATION, REPOSITORY, DagsterGraphQL
from accsync_pipeline.service.dagster_sync import apply_to_dagster
from accsync_pipeline.service.launch import SyncAlreadyRunning, SyncRequest
from accsync_pipeline.service.org_config import update_sync_settings
from accsync_pipeline.service.sync_claim import launch_exclusive
from accsync_pipeline.service.sync_now import GraphQLLauncher
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.dagster_fixtures import DagsterStack, dagster_stack  # noqa: F401
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.ledger_counts import key_counts
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
    """Upper-cased key → records under it, journal lines and posted entries alike."""
    return key_counts(sandbox, "dynamics")


def upper_keys(org_id: str, record_ids: list[str]) -> set[str]:
    return {idempotency_key(org_id, rid).upper() for rid in record_ids}


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

    launcher = GraphQLLauncher(dagster_stack.url)
    first = launch_exclusive(engine, launcher, SyncRequest("queued", "manual", "queued.admin"))
    with pytest.raises(SyncAlreadyRunning):
        launch_exclusive(engine, launcher, SyncRequest("queued", "manual", "queued.admin"))
    launcher.close()
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
    assert set(ledger) == upper_keys("queued", ids) and set(ledger.values()) == {1}
    dagster.close()
    engine.dispose()


def test_a_run_process_killed_mid_export_with_journal_postings_loses_nothing_and_posts_nothing_twice(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine = create_engine(dagster_stack.database_url)
    with engine.begin() as conn:
        org = sandbox_org("killed", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1))
        add_org_with_admin(conn, org)
        ids = add_sources(conn, "killed", 1000, prefix="K")
    # An accountant posts the journal every 150 lines: records sent before the kill leave
    # journalLines, so recovery must find them among the general ledger entries.
    dynamics_sandbox.set_faults(latency_ms=400, post_journal_every=150)
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

    assert any(p.get("state") == "posted" for p in dynamics_sandbox.postings())
    dynamics_sandbox.set_faults(latency_ms=0)
    dagster = DagsterGraphQL(dagster_stack.url)
    run_id = dagster.launch_sync(SyncRequest("killed", "manual", "killed.admin"))
    wait_for(lambda: dagster.run_status(run_id) in TERMINAL, timeout=180, what="the recovery run")
    assert dagster.run_status(run_id) == "SUCCESS"
    ledger = ledger_counts(dynamics_sandbox)
    assert set(ledger) == upper_keys("killed", ids)
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


SCHEDULES = """
query Schedules($selector: RepositorySelector!) {
  schedulesOrError(repositorySelector: $selector) {
    __typename
    ... on Schedules {
      results {
        name cronSchedule executionTimezone
        scheduleState { status }
        futureTicks(limit: 2) { results { timestamp } }
      }
    }
  }
}"""


def test_a_changed_schedule_shows_in_dagster_at_once_with_the_same_next_ticks(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine = create_engine(dagster_stack.database_url)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("sched", "dynamics", dynamics_settings(dynamics_sandbox)))
    dagster = DagsterGraphQL(dagster_stack.url)
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

    def schedule_of(cron: str) -> dict[str, object] | None:
        """The one schedule of all orgs on this cron in Oslo, as the Dagster UI lists it."""
        name = schedule_name(cron, "Europe/Oslo")
        results = dagster.execute(SCHEDULES, {"selector": selector})["schedulesOrError"]["results"]
        return next((s for s in results if s["name"] == name), None)

    for spec, cron in (
        ({"kind": "daily", "time": "02:30"}, "30 2 * * *"),
        ({"kind": "weekly", "weekday": "friday", "time": "16:00"}, "0 16 * * 5"),
    ):
        with engine.begin() as conn:
            update_sync_settings(conn, "sched", schedule_spec=spec)
        assert apply_to_dagster("sched").ok
        shown = schedule_of(cron)
        assert shown is not None
        assert (shown["cronSchedule"], shown["executionTimezone"]) == (cron, "Europe/Oslo")
        assert shown["scheduleState"] == {"status": "RUNNING"}
        ticks = [datetime.fromtimestamp(t["timestamp"], UTC) for t in shown["futureTicks"]["results"]]  # type: ignore[index]
        assert ticks == [t.astimezone(UTC) for t in next_runs(cron, "Europe/Oslo", datetime.now(UTC), 2)]

    with engine.begin() as conn:
        update_sync_settings(conn, "sched", schedule_spec={"kind": "manual"})
    assert apply_to_dagster("sched").ok
    assert schedule_of("0 16 * * 5") is None
    dagster.close()
    engine.dispose()


def test_a_partition_materialized_from_the_dagster_ui_gets_the_sync_log_tags(
    dagster_stack: DagsterStack,  # noqa: F811
    dynamics_sandbox: RunningSandbox,
) -> None:
    engine = create_engine(dagster_stack.database_url)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("fromui", "dynamics", dynamics_settings(dynamics_sandbox)))
        ids = add_sources(conn, "fromui", 20, prefix="U")
    dagster = DagsterGraphQL(dagster_stack.url)
    dagster.ensure_partition("fromui")
    # What the UI's "Materialize" on one partition sends: the partition tag and nothing of ours.
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": "sync_job"},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "fromui"}]},
    }
    result = dagster.execute(LAUNCH, {"executionParams": params})["launchRun"]
    run_id = result["run"]["runId"]
    wait_for(lambda: dagster.run_status(run_id) in TERMINAL, what="the run from the UI")
    assert dagster.run_status(run_id) == "SUCCESS"
    run = dagster_stack.instance.get_run_by_id(run_id)
    assert run is not None
    assert run.tags["accsync/org"] == "fromui" and run.tags["accsync/trigger"] == "manual"
    assert set(ledger_counts(dynamics_sandbox)) == upper_keys("fromui", ids)
    dagster.close()
    engine.dispose()
