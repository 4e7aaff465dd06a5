"""A run the warm process cannot take (no code origin, another Python) goes to the code server."""

from __future__ import annotations

import sys

from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun

from accsync_pipeline.launcher import WarmRunLauncher


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
