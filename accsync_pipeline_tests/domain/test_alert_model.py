"""The small words of alerts: ages, cut error texts and titles, record labels, links and dedupe keys."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accsync_pipeline.domain.alert_model import (
    MAX_ERROR_LENGTH,
    MAX_LINK_LENGTH,
    MAX_TITLE_LENGTH,
    age_text,
    error_text,
    opening_key,
    record_label,
    status_link,
    title_text,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=49, minutes=59), "49 hours"),  # whole hours, never rounded up
        (timedelta(hours=71, minutes=59), "71 hours"),
        (timedelta(hours=72), "3 days"),  # from three days on, in days
        (timedelta(hours=95), "3 days"),
        (timedelta(hours=96), "4 days"),
        (timedelta(days=30, hours=23), "30 days"),
    ],
)
def test_an_age_is_in_whole_hours_below_three_days_then_in_whole_days(age: timedelta, words: str) -> None:
    assert age_text(NOW, NOW - age) == words


def test_an_error_that_fits_its_column_is_kept_whole_with_its_spacing_tidied() -> None:
    fits = "x" * MAX_ERROR_LENGTH
    assert error_text(fits) == fits
    assert error_text("Account  9999\n does not exist") == "Account 9999 does not exist"
    assert error_text(None) == error_text("") == "no error message was recorded"


def test_a_longer_error_is_cut_to_the_column_with_an_ellipsis() -> None:
    cut = error_text("y" * (MAX_ERROR_LENGTH + 1))
    assert cut == "y" * (MAX_ERROR_LENGTH - 1) + "…"
    assert len(cut) == MAX_ERROR_LENGTH


def test_a_title_that_fits_is_kept_and_a_longer_one_cut_to_the_column() -> None:
    fits = "t" * MAX_TITLE_LENGTH
    assert title_text(fits) == fits
    cut = title_text("t" * (MAX_TITLE_LENGTH + 1))
    assert cut == "t" * (MAX_TITLE_LENGTH - 1) + "…"
    assert len(cut) == MAX_TITLE_LENGTH


def test_record_types_are_named_for_people_and_an_unknown_type_as_it_is() -> None:
    assert record_label("reimbursement") == "expense reimbursement"
    assert record_label("honorarium") == "honorarium"
    assert record_label("travel_advance") == "travel_advance"


def test_a_slash_in_an_org_or_record_id_stays_inside_its_part_of_the_link() -> None:
    assert status_link("hlf/øst") == "/orgs/hlf%2F%C3%B8st"
    assert status_link("hlf", "failed", ["R/1", "R2"]) == "/orgs/hlf?status=failed&records=R%2F1,R2"


def test_record_ids_are_kept_up_to_the_columns_length_exactly() -> None:
    base = "/orgs/hlf?status=failed&records="
    fits = "R" * (MAX_LINK_LENGTH - len(base))
    assert status_link("hlf", "failed", [fits]) == base + fits
    assert status_link("hlf", "failed", [fits + "R"]) == "/orgs/hlf?status=failed"


@pytest.fixture
def oslo_server_clock() -> Iterator[None]:
    """The process's local timezone set to Oslo, as on a server configured for Norway."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Oslo"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("oslo_server_clock")
def test_a_notice_key_is_in_utc_whatever_the_servers_timezone() -> None:
    opened = datetime(2026, 11, 20, 13, 0, tzinfo=ZoneInfo("Europe/Oslo"))
    assert opening_key("stale_pending:hlf", opened) == "stale_pending:hlf@2026-11-20T12:00:00+00:00"
