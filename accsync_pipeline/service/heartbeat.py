"""The sign of life a sync run's process gives: a heartbeat in its sync-log row, and its host and pid."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from accsync_pipeline.domain.liveness import HEARTBEAT_INTERVAL_SECONDS, stale_after
from accsync_pipeline.store import runs as run_store


def this_worker() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """False when the process is certainly gone; None when this host cannot tell (another host)."""
    if host is None or pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # killed but not yet reaped by its parent: a zombie runs nothing
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class Heartbeat:
    """One daemon thread per run in this process, beating until the run's row is closed."""

    _threads: dict[str, threading.Thread] = {}
    _lock = threading.Lock()

    @classmethod
    def keep(cls, engine: Engine, run_id: str) -> None:
        """Start beating for the run (again after a retry: one thread per run is enough)."""
        with cls._lock:
            thread = cls._threads.get(run_id)
            if thread is not None and thread.is_alive():
                return
            thread = threading.Thread(
                target=_beat_until_closed,
                args=(engine, run_id),
                name=f"accsync-heartbeat-{run_id[:8]}",
                daemon=True,
            )
            cls._threads[run_id] = thread
            thread.start()


def _beat_until_closed(engine: Engine, run_id: str) -> None:
    # Beats keep coming while the export waits out a retry backoff or a slow ledger. A beat
    # that cannot be written for longer than the bound means the run is declared dead anyway.
    last_written = time.monotonic()
    bound = stale_after().total_seconds()
    while True:
        time.sleep(HEARTBEAT_INTERVAL_SECONDS)
        try:
            with engine.begin() as conn:
                if not run_store.beat(conn, run_id, datetime.now(UTC)):
                    return
            last_written = time.monotonic()
        except Exception:
            if time.monotonic() - last_written > bound:
                return
