"""Streaming and pacing shared by the connectors: fill requests, bound concurrency, wait within limits."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from accsync_pipeline.connectors.errors import RetriableError

T = TypeVar("T")
R = TypeVar("R")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items, read lazily so the input is never held whole."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class PartialFailure(Exception):
    """A job failed after some of its records already had outcomes; those must not be lost."""

    def __init__(self, outcomes: list[object], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.outcomes = outcomes
        self.cause = cause


def run_bounded(
    work: Callable[[T], list[R]], jobs: Iterable[T], max_workers: int, queued: int = 1
) -> Iterator[R]:
    """Run `work` on each job with at most `max_workers` at once, yielding results as jobs finish.

    Up to `queued` jobs wait in the pool behind the ones running, so that a worker that
    finishes starts the next job at once: drawing a job (which may build its request, or read
    the next window of records) happens on the caller's thread while requests are in flight,
    and a slow draw leaves no worker idle as long as the queue lasts. Memory stays bounded by
    the jobs running plus those queued. When a job raises, no new job starts (a
    queued job that a worker picks up afterwards is dropped unsent, and so is the one drawn
    next); the ones in flight finish and their results are still yielded (they may have
    posted records), then the first error is raised.
    """
    stopped = threading.Event()

    def guarded(job: T) -> list[R] | None:
        if stopped.is_set():
            return None  # never started: its records stay unsent
        try:
            return work(job)
        except BaseException:
            stopped.set()  # before any queued job can start
            raise

    first_error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="export") as pool:
        in_flight: set[Future[list[R] | None]] = set()
        pending_jobs = iter(jobs)
        while True:
            while not stopped.is_set() and len(in_flight) < max_workers + queued:
                job = next(pending_jobs, None)
                if job is None:
                    break
                in_flight.add(pool.submit(guarded, job))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if isinstance(error, PartialFailure):
                    yield from error.outcomes  # type: ignore[misc]
                    error = error.cause
                if error is not None:
                    first_error = first_error or error
                else:
                    yield from future.result() or []
    if first_error is not None:
        raise first_error


class Pacer:
    """Spaces requests evenly to stay under a requests-per-second limit (thread-safe)."""

    def __init__(self, per_second: float | None) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a connector keeps trying one request before handing the failure to the pipeline.

    Waiting is bounded: a server asking for more than `max_wait_seconds` gets no wait here;
    the error goes up and the pipeline's own retry (minutes later) takes over.
    """

    attempts: int = 4
    base_delay_seconds: float = 0.5
    max_wait_seconds: float = 15.0

    def wait_or_raise(self, error: RetriableError, attempt: int) -> None:
        """Sleep before try number `attempt + 1`, or raise `error` when the budget is spent."""
        if attempt >= self.attempts:
            raise error
        if error.retry_after is not None:
            delay = error.retry_after
        else:
            # Full jitter keeps concurrent workers from retrying in lockstep.
            delay = random.uniform(0, self.base_delay_seconds * 2 ** (attempt - 1))
        if delay > self.max_wait_seconds:
            raise error
        time.sleep(delay)
