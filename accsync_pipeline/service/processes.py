"""Starting and stopping the processes of a local deployment: each in its own process group.

Every child gets a session of its own, so that stopping it also stops what it started
(Dagster's code servers and run workers); nothing is left running after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    ready_url: str | None = None  # polled until it answers; None: ready when started
    shown_url: str | None = None  # printed for people


@dataclass
class Supervisor:
    env: Mapping[str, str]
    log_dir: str | None = None
    children: list[tuple[ChildSpec, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, spec: ChildSpec) -> subprocess.Popen[bytes]:
        output = None
        if self.log_dir is not None:
            os.makedirs(self.log_dir, exist_ok=True)
            output = open(os.path.join(self.log_dir, f"{spec.name}.log"), "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            list(spec.argv), env=dict(self.env), start_new_session=True, stdout=output, stderr=output
        )
        self.children.append((spec, process))
        return process

    def wait_ready(self, spec: ChildSpec, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
        if spec.ready_url is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{spec.name} exited with code {process.returncode} before it was ready")
            try:
                if httpx.get(spec.ready_url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{spec.name} was not ready at {spec.ready_url} within {timeout:.0f}s")

    def first_exited(self) -> tuple[ChildSpec, int] | None:
        for spec, process in self.children:
            if process.poll() is not None:
                return spec, process.returncode
        return None

    def stop_all(self, grace_seconds: float = 20.0) -> None:
        """SIGTERM every process group, newest first; SIGKILL what is still there after the grace period."""
        for _, process in reversed(self.children):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for _, process in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, process in self.children:
            # The group may hold grandchildren even when the leader is gone.
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.children.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
