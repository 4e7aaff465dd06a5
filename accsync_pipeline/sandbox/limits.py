"""Request limits the accounting systems enforce, as the sandboxes apply them."""

from __future__ import annotations

import time
from collections import deque


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
    """At most `limit` requests processed at once; the server refuses rather than queues."""

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
