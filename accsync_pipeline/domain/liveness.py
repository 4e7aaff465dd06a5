"""Is a sync run still alive? Pure decisions over its heartbeat, its process and Dagster's status.

The run's process beats every few seconds (`service.liveness.Heartbeat`) while it lives,
whatever it is doing: exporting, waiting out a retry backoff, or waiting for a slow ledger.
Dagster's default run launcher cannot tell whether a run worker still lives, and a CLI sync
runs in the CLI's own process: a heartbeat older than the bound, or a process that is
certainly gone, means the run died and must be ended so that its org can sync again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

HEARTBEAT_INTERVAL_SECONDS = 5.0
DEFAULT_STALE_AFTER_SECONDS = 90
STALE_AFTER_ENV = "ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS"
MIN_STALE_AFTER_SECONDS = 10
TERMINAL = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
RUNNING = frozenset({"STARTED", "CANCELING"})
# What the sync log records for a run that Dagster ended without the run closing its row.
ROW_STATUS_OF = {"SUCCESS": "success", "FAILURE": "failure", "CANCELED": "failure"}


class Verdict(Enum):
    FINE = "fine"  # nothing to do: ended and closed, or not started yet (Dagster's own monitoring)
    ALIVE = "alive"
    ENDED = "ended"  # Dagster says it ended (or forgot it); only the sync-log row is left open
    WORKER_GONE = "worker_gone"  # its process no longer exists on this host
    STALE = "stale"  # no sign of life within the bound


@dataclass(frozen=True)
class RunView:
    """What the liveness sensor knows about one sync run."""

    dagster_status: str | None  # None: Dagster has no such run
    row_open: bool  # its sync-log row is still `started`
    last_sign: datetime  # newest of its heartbeat, its row's start or end, Dagster's start time
    worker_alive: bool | None  # None: unknown (another host, or not recorded)


def stale_after() -> timedelta:
    """The bound: ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS, 90 s by default, never below 10 s."""
    raw = os.environ.get(STALE_AFTER_ENV, "")
    seconds = int(raw) if raw.strip().isdigit() else DEFAULT_STALE_AFTER_SECONDS
    return timedelta(seconds=max(seconds, MIN_STALE_AFTER_SECONDS))


def judge(run: RunView, now: datetime, bound: timedelta) -> Verdict:
    """Whether a sync run must be ended from outside, and why."""
    if run.dagster_status is None or run.dagster_status in TERMINAL:
        return Verdict.ENDED if run.row_open else Verdict.FINE
    if run.dagster_status not in RUNNING:
        return Verdict.FINE  # queued or starting: Dagster's run monitoring bounds those
    if run.worker_alive is False:
        return Verdict.WORKER_GONE
    if now - run.last_sign > bound:
        return Verdict.STALE
    return Verdict.ALIVE


def explain(verdict: Verdict, bound: timedelta, dagster_status: str | None) -> str:
    """The sync log's and Dagster's words for why a run was ended from outside."""
    if verdict is Verdict.WORKER_GONE:
        return "the process running this sync stopped (killed or crashed) before it finished"
    if verdict is Verdict.STALE:
        return (
            f"the process running this sync gave no sign of life for {int(bound.total_seconds())} s "
            "(killed, crashed or cut off) before it finished"
        )
    if dagster_status == "CANCELED":
        return "the run was canceled in Dagster before it finished"
    if dagster_status is None:
        return "the run no longer exists in Dagster"
    return "the run ended in Dagster without recording its outcome"
