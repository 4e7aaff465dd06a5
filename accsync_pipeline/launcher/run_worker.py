"""A run worker forked from the warm process: the body of `dagster api execute_run`, and its identity.

The worker records where it runs (host, pid, the process's start time) as a run tag before the
run starts, so that any process on the host (the daemon's run monitoring, the webserver's Cancel)
can tell whether it still lives and can signal it, even after the daemon that forked it restarted.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RUN_WORKER_TAG = "accsync/run_worker"


@dataclass(frozen=True)
class RunWorker:
    """Where a run's worker process lives; `started` tells a reused pid from the original."""

    host: str
    pid: int
    started: str | None

    @classmethod
    def this_process(cls) -> RunWorker:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, process_start(pid))

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> RunWorker | None:
        raw = tags.get(RUN_WORKER_TAG)
        if not raw:
            return None
        try:
            value = json.loads(raw)
            return cls(str(value["host"]), int(value["pid"]), value.get("started"))
        except (ValueError, KeyError, TypeError):
            return None

    def as_tag(self) -> dict[str, str]:
        return {RUN_WORKER_TAG: json.dumps({"host": self.host, "pid": self.pid, "started": self.started})}

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def is_alive(self) -> bool:
        """True while the worker process exists and is not a zombie (on this host only)."""
        started = process_start(self.pid)
        if started is not None:
            return self.started is None or started == self.started
        if Path("/proc/self/stat").exists():
            return False  # /proc is readable and the pid is gone (or a zombie)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def execute_run(serialized_args: str) -> None:
    """Run one Dagster run in this process, exactly as `dagster api execute_run` does.

    Called in a child of the warm process: nothing is open yet, so the instance and every
    database connection are made here, after the fork.
    """
    from dagster._cli.api import _execute_run_command_body
    from dagster._cli.utils import get_instance_for_cli
    from dagster._core.storage.dagster_run import DagsterRunStatus
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts, setup_interrupt_handlers

    # Cancel sends SIGTERM; Dagster's CLI maps it to an interrupt the run handles (CANCELED).
    setup_interrupt_handlers()
    with capture_interrupts():
        args = deserialize_value(serialized_args, ExecuteRunArgs)
        with get_instance_for_cli(instance_ref=args.instance_ref) as instance:
            instance.add_run_tags(args.run_id, RunWorker.this_process().as_tag())
            run = instance.get_run_by_id(args.run_id)
            if run is not None and run.status == DagsterRunStatus.CANCELING:
                # Cancel came between the launch and the tag above, with no process to signal.
                instance.report_run_canceled(run, message="Canceled before its run worker started.")
                return
            _execute_run_command_body(args.run_id, instance, _discard, set_exit_code_on_failure=False)
    sys.stdout.flush()


def _discard(_event: object) -> None:
    """The CLI buffers events for its caller; the events are already in the instance."""
