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


def run_bounded(work: Callable[[T], list[R]], jobs: Iterable[T], max_workers: int) -> Iterator[R]:
    """Run `work` on each job with at most `max_workers` at once, yielding results as jobs finish.

    One job is drawn from `jobs` ahead of a free worker: drawing it (which may build its
    request) happens while the requests in flight wait for their answers, and memory stays
    bounded by the requests in flight plus one. When a job raises, no new job starts (the
    one drawn ahead is dropped unsent); the ones in flight finish and their results are
    still yielded (they may have posted records), then the first error is raised.
    """
    first_error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="export") as pool:
        in_flight: set[Future[list[R]]] = set()
        pending_jobs = iter(jobs)
        ready = next(pending_jobs, None)
        while True:
            while first_error is None and ready is not None and len(in_flight) < max_workers:
                in_flight.add(pool.submit(work, ready))
                ready = next(pending_jobs, None)
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
                    yield from future.result()
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
