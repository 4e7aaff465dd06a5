"""The run worker's identity: read back from its tag, alive while its process lives, gone after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from accsync_pipeline.launcher.run_worker import RUN_WORKER_TAG, RunWorker, process_start


def test_the_tag_round_trips_and_names_this_process() -> None:
    me = RunWorker.this_process()
    assert (me.host, me.pid) == (socket.gethostname(), os.getpid())
    assert RunWorker.from_tags(me.as_tag()) == me
    assert me.on_this_host and me.is_alive()


def test_a_missing_or_garbled_tag_is_no_worker() -> None:
    assert RunWorker.from_tags({}) is None
    assert RunWorker.from_tags({RUN_WORKER_TAG: "not json"}) is None
    assert RunWorker.from_tags({RUN_WORKER_TAG: '{"host": "h"}'}) is None


def test_a_worker_that_exited_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    worker = RunWorker(socket.gethostname(), child.pid, process_start(child.pid))
    assert worker.is_alive()
    child.kill()
    # Wait for it to die without reaping it: a zombie counts as gone.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert not worker.is_alive()
    child.wait()
    assert not worker.is_alive()


def test_a_reused_pid_is_not_the_worker() -> None:
    me = RunWorker.this_process()
    assert me.started is not None
    assert not RunWorker(me.host, me.pid, str(int(me.started) + 1)).is_alive()


def test_a_worker_on_another_host_is_not_on_this_one() -> None:
    assert not RunWorker("elsewhere.example", os.getpid(), None).on_this_host
