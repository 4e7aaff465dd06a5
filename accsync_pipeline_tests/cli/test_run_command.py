"""`accsync run` (what `make run` calls) starts everything, prints the URLs; Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from accsync_pipeline_tests.dagster_fixtures import free_port

pytestmark = pytest.mark.slow


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting for init to reap them don't count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            return True
    return False


def test_run_starts_every_service_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("dagster", "web", "xledger", "dynamics")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCSYNC_", "DAGSTER_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "accsync_pipeline.cli",
            "run",
            "--dagster-port",
            str(ports["dagster"]),
            "--web-port",
            str(ports["web"]),
            "--xledger-port",
            str(ports["xledger"]),
            "--dynamics-port",
            str(ports["dynamics"]),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    groups: list[int] = []
    try:
        deadline = time.monotonic() + 180
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("ready."):
                break
        output = "\n".join(lines)
        assert lines and lines[-1].startswith("ready."), output
        for port in ports.values():
            assert f"http://127.0.0.1:{port}" in output
        assert httpx.get(f"http://127.0.0.1:{ports['dagster']}/server_info", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['web']}/docs", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports['xledger']}/_sandbox/stats", timeout=10).status_code == 200
        groups = [int(p) for p in (tmp_path / ".accsync" / "run.pids").read_text().split()]
        assert len(groups) == 5 and all(group_alive(g) for g in groups)
        # The demo data went into the embedded database on first start.
        assert (tmp_path / ".accsync" / "accsync.db").exists()
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = process.communicate(timeout=90)
    assert process.returncode == 0, rest
    assert "stopped." in rest
    assert not [g for g in groups if group_alive(g)], "a child process group outlived `accsync run`"
