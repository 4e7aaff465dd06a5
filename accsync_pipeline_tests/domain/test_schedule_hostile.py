"""Schedules one org saves can never break Dagster's scheduler or anyone's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accsync_pipeline.domain import cron
from accsync_pipeline.domain.cron import ScheduleError, next_runs, validate_cron, validate_timezone
from accsync_pipeline.domain.org import AlertThresholds
from accsync_pipeline.service.org_settings import ALERT_LIMITS, check_alerts


@pytest.mark.parametrize("expression", ["0 0 1 * 5#3", "0 0 L * 5#3", "0 0 1-5 * 1#1", "0 0 15 * fri#2"])
def test_an_nth_weekday_with_a_day_of_month_is_refused_with_the_reason(expression: str) -> None:
    with pytest.raises(ScheduleError, match="day-of-month"):
        validate_cron(expression)


def test_whatever_the_scheduler_cannot_iterate_is_refused_even_without_a_named_rule() -> None:
    with pytest.raises(ScheduleError, match="cannot compute the run times"):
        cron._check_iterable("0 0 1 * 5#3")


@pytest.mark.parametrize(
    "name", ["localtime", "Factory", "right/UTC", "posix/Europe/Oslo", "posixrules", "", "x" * 65]
)
def test_non_portable_timezones_are_refused(name: str) -> None:
    with pytest.raises(ScheduleError, match="IANA"):
        validate_timezone(name)


@pytest.mark.parametrize("name", ["Europe/Oslo", "UTC", "America/New_York", "Pacific/Kiritimati"])
def test_portable_timezones_are_kept(name: str) -> None:
    assert validate_timezone(name) == name


FIELD = st.sampled_from(["*", "0", "1", "5", "L", "5#3", "1-5", "*/15", "2,4", "31", "29", "fri#2", "?"])


@settings(max_examples=300, deadline=None)
@given(st.tuples(st.sampled_from(["0", "30", "*/15"]), st.sampled_from(["0", "2", "*"]), FIELD, FIELD, FIELD))
def test_every_cron_that_validates_yields_run_times(fields: tuple[str, ...]) -> None:
    """The promise the settings API relies on: valid means Dagster can compute the next runs."""
    try:
        normalised = validate_cron(" ".join(fields))
    except ScheduleError:
        return
    assert next_runs(normalised, "Europe/Oslo", datetime(2026, 1, 1, tzinfo=UTC), 2)


def test_alert_thresholds_are_bounded_above() -> None:
    worst = AlertThresholds(**{name: limit for name, (limit, _) in ALERT_LIMITS.items()})
    assert check_alerts(worst) == []
    too_far = AlertThresholds(error_window_hours=100_000_000)
    [(field, message)] = check_alerts(too_far)
    assert field == "alerts.error_window_hours" and "1-2160 hours" in message
