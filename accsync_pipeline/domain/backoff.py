"""Exponential backoff for records that failed transiently."""

from __future__ import annotations

from datetime import datetime, timedelta


def backoff_delay(consecutive_failures: int, base_seconds: int, max_seconds: int) -> timedelta:
    """base, 2·base, 4·base, … capped at max: the wait after the n-th consecutive failure (n ≥ 1)."""
    if consecutive_failures < 1:
        return timedelta(0)
    exponent = min(consecutive_failures - 1, 30)  # 2**30·base is past any sane limit already
    return timedelta(seconds=min(max_seconds, base_seconds * 2**exponent))


def next_attempt_at(
    now: datetime, consecutive_failures: int, base_seconds: int, max_seconds: int
) -> datetime:
    return now + backoff_delay(consecutive_failures, base_seconds, max_seconds)
