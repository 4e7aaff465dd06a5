"""Money, numbers and times as the admin screens show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.web.formatting import (
    NBSP,
    format_ago,
    format_count,
    format_date,
    format_datetime,
    format_datetime_with_weekday,
    format_money,
    plural,
)


def spaced(text: str) -> str:
    """Write expectations with ordinary spaces; the screens use no-break spaces."""
    return text.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.50"), "kr 1 234,50"),
        (Decimal("1234.5"), "kr 1 234,50"),
        (Decimal("0"), "kr 0,00"),
        (Decimal("0.005"), "kr 0,01"),  # half up, as accountants round
        (Decimal("0.004"), "kr 0,00"),
        (Decimal("999.995"), "kr 1 000,00"),
        (Decimal("12"), "kr 12,00"),
        (Decimal("123"), "kr 123,00"),
        (Decimal("1000"), "kr 1 000,00"),
        (Decimal("1234567.89"), "kr 1 234 567,89"),
        (Decimal("-1234.5"), "kr -1 234,50"),
        (1500, "kr 1 500,00"),
        ("2400.00", "kr 2 400,00"),
    ],
)
def test_money_is_written_the_norwegian_way(amount: Decimal | int | str, expected: str) -> None:
    assert format_money(amount) == spaced(expected)


def test_money_in_another_currency_shows_its_code() -> None:
    assert format_money(Decimal("12"), "EUR") == spaced("EUR 12,00")
    assert format_money(Decimal("12"), "nok") == spaced("kr 12,00")


def test_money_never_breaks_across_lines() -> None:
    assert " " not in format_money(Decimal("1234567.89"))


@pytest.mark.parametrize("bad", ["twelve", "NaN", "Infinity", ""])
def test_money_refuses_what_is_not_an_amount(bad: str) -> None:
    with pytest.raises(ValueError):
        format_money(bad)


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        format_money(0.1)  # type: ignore[arg-type]


@given(st.decimals(min_value=-(10**10), max_value=10**10, places=2, allow_nan=False, allow_infinity=False))
def test_money_reads_back_to_the_same_amount(amount: Decimal) -> None:
    text = format_money(amount)
    assert text.startswith("kr" + NBSP)
    number = text.removeprefix("kr" + NBSP).replace(NBSP, "").replace(",", ".")
    assert Decimal(number) == amount


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0"), (7, "7"), (999, "999"), (1000, "1 000"), (12345, "12 345"), (-1500, "-1 500")],
)
def test_counts_are_grouped_by_thousands(count: int, expected: str) -> None:
    assert format_count(count) == spaced(expected)


def test_plural_words() -> None:
    assert plural(1, "record") == "1 record"
    assert plural(2, "record") == "2 records"
    assert plural(1234, "entry", "entries") == f"1{NBSP}234 entries"


def test_dates_are_day_month_year() -> None:
    assert format_date(date(2026, 3, 7)) == "07.03.2026"


def test_times_are_24_hour_in_the_org_timezone() -> None:
    winter = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    summer = datetime(2026, 6, 20, 21, 30, tzinfo=UTC)
    assert format_datetime(winter, "Europe/Oslo") == "20.11.2026 13:05"
    assert format_datetime(summer, "Europe/Oslo") == "20.06.2026 23:30"
    assert format_datetime(winter, "UTC") == "20.11.2026 12:05"
    assert format_datetime(None, "Europe/Oslo") == "never"
    assert format_datetime(None, "Europe/Oslo", empty="not yet") == "not yet"


def test_upcoming_runs_name_the_weekday() -> None:
    assert format_datetime_with_weekday(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), "Europe/Oslo") == (
        "Fri 20.11.2026 16:00"
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 11, 20, 12, 0), "Europe/Oslo")


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=25), "1 day ago"),
        (timedelta(days=3), "3 days ago"),
    ],
)
def test_ago_in_plain_words(elapsed: timedelta, expected: str) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert format_ago(now - elapsed, now) == expected
    assert format_ago(None, now) == "never"
