"""Request limits the accounting systems enforce, as the sandboxes apply them."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from enum import StrEnum


class TokenBucket:
    """`capacity` requests at once, refilled at `per_second`: a burst limit."""

    def __init__(self, capacity: int, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._tokens = float(capacity)
        self._updated = time.monotonic()

    def try_take(self) -> float | None:
        """Take one token; None when allowed, else seconds until one is available."""
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.per_second)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.per_second


class SlidingWindow:
    """At most `limit` requests in any `window_seconds`."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._times: deque[float] = deque()

    def try_take(self) -> float | None:
        """Count one request; None when allowed, else seconds until the oldest leaves the window."""
        now = time.monotonic()
        while self._times and self._times[0] <= now - self.window_seconds:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return self._times[0] + self.window_seconds - now
        self._times.append(now)
        return None


class ConcurrencyGate:
    """At most `limit` requests processed at once; the server refuses rather than queues (Xledger)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.peak = 0

    def try_enter(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        self.peak = max(self.peak, self.active)
        return True

    def leave(self) -> None:
        self.active -= 1


class Admission(StrEnum):
    """What became of a request at Business Central's door."""

    ADMITTED = "admitted"
    QUEUE_FULL = "queue_full"
    QUEUE_TIMEOUT = "queue_timeout"


class RequestQueue:
    """Business Central online: `limit` requests processed at once, up to `queue_size` more wait.

    Source: Microsoft Learn, "Operational limits for Business Central online" (OData
    section): max concurrent requests 5, max connections 100 (so 95 may wait), max queue
    time 8 minutes; a request beyond the queue gets 429, one queued too long gets 503.
    Waiting requests are admitted in arrival order. Run on one event loop (uvicorn's).
    """

    def __init__(self, limit: int, queue_size: int, max_wait_seconds: float) -> None:
        self.limit, self.queue_size, self.max_wait_seconds = limit, queue_size, max_wait_seconds
        self.active = 0
        self.peak = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> Admission:
        if self.active < self.limit and not self._waiting:
            self._admit()
            return Admission.ADMITTED
        if len(self._waiting) >= self.queue_size:
            return Admission.QUEUE_FULL
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.max_wait_seconds)
        except (TimeoutError, asyncio.CancelledError) as e:
            if turn.done():  # the slot was handed over just as the wait ended: give it back
                self.leave()
            else:
                self._waiting.remove(turn)
                turn.cancel()
            if isinstance(e, asyncio.CancelledError):
                raise
            return Admission.QUEUE_TIMEOUT
        return Admission.ADMITTED

    def leave(self) -> None:
        """Free a slot: the longest-waiting request takes it over, else it is free."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # `active` is unchanged: the slot passes on
                return
        self.active -= 1

    def _admit(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
