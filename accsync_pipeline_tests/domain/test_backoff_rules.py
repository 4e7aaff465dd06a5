"""A record that failed transiently waits base, 2·base, 4·base, … seconds, never more than the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.backoff import backoff_delay, next_attempt_at

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("consecutive_failures", "seconds"),
    [
        (-1, 0),
        (0, 0),
        (1, 60),
        (2, 120),
        (3, 240),
        (4, 480),
        (5, 960),
        (6, 1920),
        (7, 3600),  # 3840 is past the cap
        (40, 3600),
        (10_000, 3600),
    ],
)
def test_the_wait_doubles_after_each_failure_up_to_the_cap(consecutive_failures: int, seconds: int) -> None:
    assert backoff_delay(consecutive_failures, base_seconds=60, max_seconds=3600) == timedelta(
        seconds=seconds
    )


@given(
    failures=st.integers(min_value=1, max_value=60),
    base=st.integers(min_value=1, max_value=3600),
    cap=st.integers(min_value=1, max_value=7 * 24 * 3600),
)
def test_each_wait_is_twice_the_one_before_until_the_cap(failures: int, base: int, cap: int) -> None:
    before = backoff_delay(failures, base, cap)
    after = backoff_delay(failures + 1, base, cap)
    assert after == min(2 * before, timedelta(seconds=cap))
    assert backoff_delay(1, base, cap) == timedelta(seconds=min(base, cap))


def test_the_doubling_stops_at_two_to_the_thirtieth_bases() -> None:
    """The exponent is bounded, so a count in the thousands never builds a number of that size."""
    assert backoff_delay(30, 1, 10**12) == timedelta(seconds=2**29)
    assert backoff_delay(31, 1, 10**12) == timedelta(seconds=2**30)
    assert backoff_delay(32, 1, 10**12) == timedelta(seconds=2**30)


@given(failures=st.integers(min_value=-5, max_value=50))
def test_the_next_attempt_is_now_plus_the_wait(failures: int) -> None:
    assert next_attempt_at(NOW, failures, 30, 6 * 3600) == NOW + backoff_delay(failures, 30, 6 * 3600)


def test_the_third_failure_in_a_row_waits_four_bases() -> None:
    assert next_attempt_at(NOW, 3, 300, 86_400) == NOW + timedelta(minutes=20)
