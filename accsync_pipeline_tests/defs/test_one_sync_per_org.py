"""One sync per org, atomically; refused runs; re-executions; dead runs ended by the liveness sweep.

In-process Dagster and a real accsync database (SQLite and PostgreSQL); the real daemon and
real killed processes are in `test_no_stale_lock.py`.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import create_run_for_test
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import run_definitions
from accsync_pipeline.defs.jobs import SYNC_JOB_NAME
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.defs.sensors.approvals import approval_sensor
from accsync_pipeline.domain.run_tags import ORG_TAG, REFUSED_TAG, TRIGGER_TAG, USER_TAG
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process, liveness
from accsync_pipeline.service.dagster_runs import InstanceRuns, ensure_partition
from accsync_pipeline.service.heartbeat import this_worker
from accsync_pipeline.service.launch import (
    DagsterRunInfo,
    DagsterUnavailable,
    SyncAlreadyRunning,
    SyncRequest,
)
from accsync_pipeline.service.sync_claim import claim_org, launch_exclusive
from accsync_pipeline.service.sync_now import start_sync
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import record_sync_state, sync_runs
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import xledger_settings

SETTINGS = {"base_url": "http://127.0.0.1:9", "token_env": "UNUSED_TOKEN"}


@dataclass
class SlowLauncher:
    """Dagster as Sync Now sees it, slow to launch so that concurrent requests overlap."""

    launched: list[SyncRequest] = field(default_factory=list)
    runs: dict[str, DagsterRunInfo] = field(default_factory=dict)
    fail: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve_run_id(self, org_id: str) -> None:
        return None

    def launch_sync(self, request: SyncRequest, run_id: str | None = None) -> str:
        time.sleep(0.3)
        if self.fail:
            raise DagsterUnavailable("cannot reach Dagster")
        with self._lock:
            run_id = f"run-{len(self.launched) + 1}"
            self.launched.append(request)
            self.runs[run_id] = DagsterRunInfo(run_id, "QUEUED", request.org_id)
        return run_id

    def active_run_id(self, org_id: str) -> str | None:
        with self._lock:
            return next(
                (r.run_id for r in self.runs.values() if r.org_id == org_id and r.status == "QUEUED"), None
            )

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        return self.runs.get(run_id)

    def close(self) -> None:
        pass


def test_ten_concurrent_sync_now_requests_launch_exactly_one_run(engine: Engine) -> None:
    with engine.begin() as conn:
        org = sandbox_org("busy", "xledger", SETTINGS)
        add_org_with_admin(conn, org)
    launcher = SlowLauncher()
    barrier = threading.Barrier(10)
    outcomes: list[object] = []

    def request() -> None:
        barrier.wait()
        try:
            outcomes.append(start_sync(engine, launcher, org, "busy.admin"))
        except SyncAlreadyRunning as e:
            outcomes.append(e)

    threads = [threading.Thread(target=request) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(launcher.launched) == 1
    launched = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, SyncAlreadyRunning)]
    assert launched == ["run-1"] and len(refused) == 9
    assert {e.run_id for e in refused} == {"run-1"}, "a refusal must name the running run"
    with engine.connect() as conn:
        claim = claim_store.find_claim(conn, "busy")
    assert claim is not None and claim.run_id == "run-1"


def test_a_claim_is_freed_by_a_refused_launch_and_taken_over_once_its_run_ended(engine: Engine) -> None:
    with engine.begin() as conn:
        org = sandbox_org("turns", "xledger", SETTINGS)
        add_org_with_admin(conn, org)
    launcher = SlowLauncher(fail=True)
    with pytest.raises(DagsterUnavailable):
        start_sync(engine, launcher, org, "turns.admin")
    launcher.fail = False
    first = start_sync(engine, launcher, org, "turns.admin")  # the failed launch left no claim
    with pytest.raises(SyncAlreadyRunning):
        start_sync(engine, launcher, org, "turns.admin")
    # The run ended without closing a row (canceled while queued): the next request takes over.
    launcher.runs[first] = DagsterRunInfo(first, "CANCELED", "turns")
    assert start_sync(engine, launcher, org, "turns.admin") == "run-2"


def test_a_run_launched_elsewhere_refuses_sync_now_and_the_claim_is_given_back(engine: Engine) -> None:
    with engine.begin() as conn:
        org = sandbox_org("elsewhere", "xledger", SETTINGS)
        add_org_with_admin(conn, org)
    launcher = SlowLauncher()
    launcher.runs["scheduled"] = DagsterRunInfo("scheduled", "QUEUED", "elsewhere")
    with pytest.raises(SyncAlreadyRunning) as refused:
        launch_exclusive(engine, launcher, SyncRequest("elsewhere", "manual", "elsewhere.admin"))
    assert refused.value.run_id == "scheduled" and not launcher.launched
    with engine.connect() as conn:
        assert claim_store.find_claim(conn, "elsewhere") is None


def _only_partition_tag(run_config: dict[str, object] | None = None) -> dict[str, object]:
    return {"ops": {"export_approved_records": {"config": {}}}} if run_config is None else run_config


@pytest.mark.parametrize(
    ("partition", "tags", "message"),
    [
        (None, {}, "names no organization partition"),
        ("ghost", {}, "ghost is not an organization in accsync"),
        ("victim", {ORG_TAG: "intruder"}, "contradicts its partition victim"),
    ],
)
def test_runs_naming_no_known_org_are_refused_before_they_touch_anything(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    partition: str | None,
    tags: dict[str, str],
    message: str,
) -> None:
    with engine.begin() as conn:
        for org_id in ("victim", "intruder"):
            add_org_with_admin(conn, sandbox_org(org_id, "xledger", SETTINGS))
            add_sources(conn, org_id, 3, prefix=f"{org_id}-")
    job = run_definitions().resolve_job_def(SYNC_JOB_NAME)
    if partition:
        ensure_partition(dagster_instance, partition)
    result = job.execute_in_process(
        instance=dagster_instance, partition_key=partition, tags=tags, raise_on_error=False
    )
    assert not result.success
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run is not None and run.tags.get(REFUSED_TAG) == "true"
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failures and message in str(failures[0].step_failure_data.user_failure_data.description)  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_runs)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(record_sync_state)).scalar() == 0


def test_a_reexecution_is_logged_as_manual_by_whoever_reexecuted_it(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    xledger_sandbox: RunningSandbox,
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("again", "xledger", xledger_settings(xledger_sandbox)))
        add_sources(conn, "again", 3)
    first, success = in_process.run_sync(dagster_instance, SyncRequest("again", "schedule"))
    assert success
    original = dagster_instance.get_run_by_id(first)
    assert original is not None
    # What Dagster's re-execution carries: the parent's tags, plus the run group and (Dagster+) the user.
    copied = {k: v for k, v in original.tags.items() if not k.startswith("dagster/")}
    for user, logged in (("ola.ops", "ola.ops"), (None, "unknown")):
        tags = copied | {"dagster/parent_run_id": first, "dagster/root_run_id": first}
        if user:
            tags["user"] = user
        result = (
            run_definitions()
            .resolve_job_def(SYNC_JOB_NAME)
            .execute_in_process(
                instance=dagster_instance, partition_key="again", tags=tags, raise_on_error=False
            )
        )
        assert result.success
        with engine.connect() as conn:
            row = run_store.find_run(conn, result.run_id)
        assert row is not None and (row.trigger, row.user_id) == ("manual", logged)
        run = dagster_instance.get_run_by_id(result.run_id)
        assert run is not None and (run.tags[TRIGGER_TAG], run.tags[USER_TAG]) == ("manual", logged)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("how", ["process_gone", "heartbeat_stale"])
def test_a_dead_run_is_failed_in_dagster_its_row_closed_with_counts_and_its_org_freed(
    engine: Engine, dagster_instance: dg.DagsterInstance, how: str
) -> None:
    now = datetime.now(UTC)
    run = create_run_for_test(
        dagster_instance, job_name=SYNC_JOB_NAME, status=dg.DagsterRunStatus.STARTED, tags={ORG_TAG: "dead"}
    )
    worker = (socket.gethostname(), _dead_pid()) if how == "process_gone" else ("elsewhere", 1)
    started = now - timedelta(seconds=5 if how == "process_gone" else 300)
    with engine.begin() as conn:
        run_store.start_run(conn, run.run_id, "dead", "manual", "dead.admin", started, worker)
        run_store.add_progress(conn, run.run_id, exported=250, skipped=2, failed=1)
        assert claim_store.try_claim(conn, "dead", "token", run.run_id, started)

    ended = liveness.sweep(engine, dagster_instance, now=now, bound=timedelta(seconds=60))

    assert [(e.run_id, e.org_id) for e in ended] == [(run.run_id, "dead")]
    after = dagster_instance.get_run_by_id(run.run_id)
    assert after is not None and after.status == dg.DagsterRunStatus.FAILURE
    with engine.connect() as conn:
        row = run_store.find_run(conn, run.run_id)
        assert claim_store.find_claim(conn, "dead") is None
    assert row is not None and row.status == "failure" and row.finished_at is not None
    assert (row.exported, row.skipped, row.failed) == (250, 2, 1), "the counts of a dead run are kept"
    assert row.error and ("stopped" in row.error or "no sign of life" in row.error)
    # Nothing left to end; the org can be claimed again.
    assert liveness.sweep(engine, dagster_instance, now=now, bound=timedelta(seconds=60)) == []
    claim_org(engine, InstanceRuns(dagster_instance), "dead")


def test_a_live_run_is_left_alone(engine: Engine, dagster_instance: dg.DagsterInstance) -> None:
    now = datetime.now(UTC)
    run = create_run_for_test(
        dagster_instance, job_name=SYNC_JOB_NAME, status=dg.DagsterRunStatus.STARTED, tags={ORG_TAG: "alive"}
    )
    with engine.begin() as conn:
        run_store.start_run(
            conn, run.run_id, "alive", "manual", None, now - timedelta(seconds=10), this_worker()
        )
    assert liveness.sweep(engine, dagster_instance, now=now, bound=timedelta(seconds=60)) == []
    assert dagster_instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # type: ignore[union-attr]


def tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"accsync_db": AccsyncDatabase()}
    )
    result = approval_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_an_approval_committed_late_behind_the_cursor_still_triggers_one_sync(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("late", "xledger", SETTINGS, sync_on_approval=True))
        add_sources(conn, "late", 1, prefix="NEW", updated_at=now)
    first = tick(dagster_instance, None)
    assert [r.partition_key for r in first.run_requests or []] == ["late"]
    # The run took the record in; then a transaction that began 90 s ago commits.
    with engine.begin() as conn:
        record_store.intake(conn, "late", now)
        add_sources(conn, "late", 1, prefix="OLD", updated_at=now - timedelta(seconds=90))
    second = tick(dagster_instance, first.cursor)
    assert [r.partition_key for r in second.run_requests or []] == ["late"], "the late record was missed"
    assert {r.run_key for r in second.run_requests or []}.isdisjoint(
        {r.run_key for r in first.run_requests or []}
    )
    # The same late record does not launch again while it waits to be taken in...
    third = tick(dagster_instance, second.cursor)
    assert not third.run_requests
    # ...and once taken in, nothing more.
    with engine.begin() as conn:
        record_store.intake(conn, "late", now)
    assert not tick(dagster_instance, third.cursor).run_requests
    assert len(third.cursor or "") < 400, "the cursor stays small"


def test_a_late_approval_of_a_busy_org_is_synced_when_its_run_ends(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("queue", "xledger", SETTINGS, sync_on_approval=True))
        add_sources(conn, "queue", 1, prefix="NEW", updated_at=now)
    first = tick(dagster_instance, None)
    running = create_run_for_test(
        dagster_instance, job_name=SYNC_JOB_NAME, status=dg.DagsterRunStatus.STARTED, tags={ORG_TAG: "queue"}
    )
    with engine.begin() as conn:
        record_store.intake(conn, "queue", now)
        add_sources(conn, "queue", 1, prefix="OLD", updated_at=now - timedelta(seconds=90))
    busy = tick(dagster_instance, first.cursor)
    assert not busy.run_requests
    dagster_instance.report_run_failed(running)
    freed = tick(dagster_instance, busy.cursor)
    assert [r.partition_key for r in freed.run_requests or []] == ["queue"]
    assert Counter(r.partition_key for r in freed.run_requests or []) == {"queue": 1}
