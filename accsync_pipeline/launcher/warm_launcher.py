"""`WarmRunLauncher`: each run worker is forked from a process that has Dagster already imported.

Dagster's `DefaultRunLauncher` asks the code server to start every run in a freshly spawned
Python that imports Dagster before the run begins (2.5 s on an idle core, over 6 s on a busy
one). This launcher keeps a `multiprocessing` forkserver that imports Dagster and the code
location's libraries once, and forks it per run; the child runs `dagster api execute_run`'s
body (`run_worker.execute_run`). The forkserver is a fresh interpreter that imports modules
only, opens no connection and starts no thread, so forking it is safe.

What the default launcher gives is kept: events and status go to the instance from the worker,
the queued run coordinator still decides when a run starts, Cancel sends the worker SIGTERM
(which Dagster's execution turns into a canceled run), and run monitoring asks
`check_run_worker_health`, so a worker that died (SIGKILL, out of memory) ends its run FAILURE.
When the warm process cannot be used (it failed to start, the run's code location runs on
another Python, the run has no code origin) the run goes to the code server as before.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Self

from dagster import Array, Field
from dagster._config.config_schema import UserConfigSchema
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value
from dagster._serdes.config_class import ConfigurableClassData

from accsync_pipeline.launcher import run_worker
from accsync_pipeline.launcher.run_worker import RunWorker

log = logging.getLogger(__name__)

# Imported once by the warm process. Libraries only: a module that reads a database or starts
# a thread at import must not be here (a fork copies open sockets and loses threads).
DEFAULT_PRELOAD_MODULES = (
    "accsync_pipeline.launcher.run_worker",
    "dagster",
    "dagster._cli.api",
    "dagster._core.execution.api",
    "dagster._core.executor.in_process",
    "dagster._core.instance.factory",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.storage.schedules.sqlite",
    "dagster._core.workspace.autodiscovery",
    # What the code location imports at load (its own modules are left to the run, so that a
    # reloaded code location runs its new code).
    "sqlalchemy",
    "httpx",
    "httpcore",
    "h11",
    "certifi",
    "pydantic",
    "cron_descriptor",
)

_warm_lock = threading.Lock()


class WarmRunLauncher(DefaultRunLauncher):
    """Launches each run in a process forked from a warm, preloaded Python (falls back to the code server)."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        preload_modules: Sequence[str] = DEFAULT_PRELOAD_MODULES,
    ) -> None:
        self._preload_modules = list(preload_modules)
        super().__init__(inst_data=inst_data)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {
            "preload_modules": Field(
                Array(str),
                is_required=False,
                default_value=list(DEFAULT_PRELOAD_MODULES),
                description="Modules the warm process imports once, before it forks run workers.",
            )
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        modules = config_value.get("preload_modules", DEFAULT_PRELOAD_MODULES)
        return cls(inst_data=inst_data, preload_modules=modules)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        reason = self._why_not_warm(run)
        if reason is None:
            try:
                self._fork_worker(run)
                self._run_ids.add(run.run_id)
                return
            except Exception as e:  # any failure of the warm path must not lose the run
                reason = f"the warm process failed ({type(e).__name__}: {e})"
                log.warning("run %s: %s", run.run_id, reason)
        self._instance.report_engine_event(
            f"Starting the run worker through the code server: {reason}.", run, cls=self.__class__
        )
        super().launch_run(context)

    def warm_up(self) -> None:
        """Start the warm process now, so that the first run does not wait for its imports."""
        _forkserver_context(self._preload_modules)
        from multiprocessing import forkserver

        forkserver.ensure_running()

    def _why_not_warm(self, run: DagsterRun) -> str | None:
        origin = run.job_code_origin
        if origin is None:
            return "the run has no code origin"
        if origin.executable_path != sys.executable:
            # The code location runs on another Python (its own virtualenv or image).
            return "the code location runs on another Python"
        return None

    def _fork_worker(self, run: DagsterRun) -> None:
        origin = run.job_code_origin
        assert origin is not None  # checked by _why_not_warm
        args = ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=self._instance.get_ref())
        context = _forkserver_context(self._preload_modules)
        worker = context.Process(
            target=run_worker.execute_run, args=(serialize_value(args),), name=f"dagster-run-{run.run_id}"
        )
        worker.start()
        # The worker outlives this process's interest in it: multiprocessing would otherwise
        # join it when this process exits (holding the daemon's shutdown until the run ends).
        multiprocessing.process._children.discard(worker)  # type: ignore[attr-defined]

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        worker = RunWorker.from_tags(run.tags)
        if worker is None and GRPC_INFO_TAG in run.tags:
            return bool(super().terminate(run_id))  # type: ignore[no-untyped-call]
        self._instance.report_run_canceling(run)
        if worker is None:
            # Forked but not yet started: the worker sees CANCELING before it runs anything.
            return True
        if not worker.on_this_host or not worker.is_alive():
            self._instance.report_engine_event(
                f"The run worker (pid {worker.pid}) could not be signalled: it is gone or on another host.",
                run,
                cls=self.__class__,
            )
            return False
        os.kill(worker.pid, signal.SIGTERM)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = RunWorker.from_tags(run.tags)
        if worker is None or not worker.on_this_host:
            # Started by the code server, or elsewhere: the heartbeat (run_liveness_sensor) watches it.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not a warm run worker on this host")
        if worker.is_alive():
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(worker.pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker process (pid {worker.pid}) is gone",
            run_worker_id=str(worker.pid),
        )


def _forkserver_context(preload_modules: Sequence[str]) -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its preload list set once per process (the forkserver is shared)."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, multiprocessing.context.ForkServerContext)
    with _warm_lock:
        context.set_forkserver_preload(list(preload_modules))
    return context
