"""Dagster's run monitoring, asking the warm launcher, fails a started run whose worker is gone."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from accsync_pipeline.launcher import WarmRunLauncher
from accsync_pipeline.launcher.run_worker import RunWorker, process_start

LAUNCHER = {"module": "accsync_pipeline.launcher", "class": "WarmRunLauncher"}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    overrides = {"run_launcher": LAUNCHER, "run_monitoring": {"enabled": True, "max_resume_run_attempts": 0}}
    with dg.instance_for_test(overrides=overrides) as instance:
        assert isinstance(instance.run_launcher, WarmRunLauncher)
        yield instance


def started_run(instance: dg.DagsterInstance, worker: RunWorker | None) -> str:
    @dg.op
    def noop() -> None: ...

    @dg.job
    def a_job() -> None:
        noop()

    run = instance.create_run_for_job(a_job, tags=worker.as_tag() if worker else None)
    instance.handle_run_event(run.run_id, dg.DagsterEvent("PIPELINE_STARTING", a_job.name))  # type: ignore[arg-type]
    instance.handle_run_event(run.run_id, dg.DagsterEvent("PIPELINE_START", a_job.name))  # type: ignore[arg-type]
    return run.run_id


def monitor(instance: dg.DagsterInstance, run_id: str) -> DagsterRunStatus:
    record = instance.get_run_record_by_id(run_id)
    assert record is not None and record.dagster_run.status == DagsterRunStatus.STARTED
    monitor_started_run(instance, None, record, logging.getLogger("test"))  # type: ignore[arg-type]
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def test_a_live_worker_keeps_its_run(instance: dg.DagsterInstance) -> None:
    run_id = started_run(instance, RunWorker.this_process())
    assert monitor(instance, run_id) == DagsterRunStatus.STARTED


def test_a_dead_worker_fails_its_run_with_the_reason(instance: dg.DagsterInstance) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    worker = RunWorker(RunWorker.this_process().host, child.pid, process_start(child.pid))
    child.wait()
    run_id = started_run(instance, worker)
    assert monitor(instance, run_id) == DagsterRunStatus.FAILURE
    messages = [e.message for e in instance.all_logs(run_id)]
    assert any(f"the run worker process (pid {child.pid}) is gone" in m for m in messages)


def test_a_run_the_code_server_started_is_left_to_the_heartbeat(instance: dg.DagsterInstance) -> None:
    run_id = started_run(instance, None)
    assert monitor(instance, run_id) == DagsterRunStatus.STARTED
