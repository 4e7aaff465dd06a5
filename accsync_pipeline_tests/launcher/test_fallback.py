"""A run the forkserver cannot take goes to the code server, one canceled before its worker ran never runs."""

from __future__ import annotations

import sys

from dagster import instance_for_test
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value

from accsync_pipeline.launcher import WarmRunLauncher
from accsync_pipeline.launcher.run_worker import RunWorker, execute_run


def run_on(python: str | None) -> DagsterRun:
    origin = None
    if python is not None:
        pointer = ModuleCodePointer("accsync_pipeline.definitions", "defs", None)
        origin = JobPythonOrigin("sync_job", RepositoryPythonOrigin(python, pointer))
    return DagsterRun(job_name="sync_job", run_id="run-1", job_code_origin=origin)


def test_only_runs_of_a_code_location_on_this_python_are_forked() -> None:
    launcher = WarmRunLauncher()
    assert launcher._why_not_warm(run_on(sys.executable)) is None
    assert (
        launcher._why_not_warm(run_on("/opt/other-venv/bin/python"))
        == "the code location runs on another Python"
    )
    assert launcher._why_not_warm(run_on(None)) == "the run has no code origin"


def test_a_run_canceled_before_its_worker_started_ends_canceled_without_running() -> None:
    with instance_for_test() as instance:
        origin = run_on(sys.executable).job_code_origin
        assert origin is not None
        run = instance.add_run(DagsterRun(job_name="sync_job", run_id="run-2", job_code_origin=origin))
        launcher = WarmRunLauncher()
        launcher.register_instance(instance)
        # Cancel lands after the fork, before the worker has said where it runs.
        assert launcher.terminate(run.run_id)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELING  # type: ignore[union-attr]
        execute_run(
            serialize_value(
                ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=instance.get_ref())
            )
        )
        after = instance.get_run_by_id(run.run_id)
        assert after is not None and after.status == DagsterRunStatus.CANCELED
        assert RunWorker.from_tags(after.tags) == RunWorker.this_process()
        assert not any("Started process for run" in (e.message or "") for e in instance.all_logs(run.run_id))
