"""Cron and timezone checks say exactly what is wrong and where; descriptions note missing days; the
next runs stay right when they are served again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from accsync_pipeline.domain.cron import (
    ScheduleError,
    describe_cron,
    next_runs,
    validate_cron,
    validate_timezone,
)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("   ", "cron expression is empty"),
        (
            "@reboot",
            "'@reboot' is not supported; use one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
            "@annually or five fields",
        ),
        (
            "0 2 * *",
            "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4 in '0 2 * *'",
        ),
        (
            " 0 0 2 * * * ",
            "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 6 in "
            "'0 0 2 * * *' (Dagster schedules have no seconds or years field)",
        ),
        ("5-2 * * * *", "minute field: range '5-2' runs backwards; write it as ascending ranges"),
        ("-5 * * * *", "minute field: '-5' is incomplete"),
        ("0 2 * 1-13 *", "month field: 13 is out of range 1-12"),
        ("0 2 * * -1", "day-of-week field: '-1' is incomplete"),
        (
            "5/70 * * * *",
            "minute field: step 70 in '5/70' is larger than 59, so it cannot mean every 70 minutes",
        ),
        (
            "0 2 */32 * *",
            "day-of-month field: step 32 in '*/32' is larger than 31, so it cannot mean every 32 days",
        ),
        (
            "0 2 * */13 *",
            "month field: step 13 in '*/13' is larger than 12, so it cannot mean every 13 months",
        ),
        ("0 2 * * 1#0", "day-of-week field: '#0' must be #1-#5 (which week of the month)"),
        ("0 2 * * 1#x", "day-of-week field: '#x' must be #1-#5 (which week of the month)"),
        ("0 2 * * 1#2,5", "day-of-week field: '1#2' must stand alone in its field"),
        ("0 2 L,15 * *", "day-of-month field: 'L' must stand alone in its field"),
        ("0 2 31 2,4,6 *", "day-of-month field: 31 never occurs in February or April or June"),
        (
            "0 2 15 * 1#1",
            "day-of-week field: '1#1' (an nth weekday) cannot be combined with a day-of-month ('15'); "
            "Dagster's scheduler cannot compute its runs. Set day-of-month to *",
        ),
    ],
)
def test_a_cron_that_cannot_be_used_says_exactly_why(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        validate_cron(expression)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 2 * * sun-sat", "0 2 * * 0-6"),
        ("0 2 * * SAT,sun", "0 2 * * 6,0"),
        ("0 2 ? * 1-5", "0 2 * * 1-5"),
        ("0 2 15 * ?", "0 2 15 * *"),
        ("0 2 * dec *", "0 2 * 12 *"),
        ("*/20 * * * *", "*/20 * * * *"),
        ("10-40/10 * * * *", "10-40/10 * * * *"),
        ("0 0-23/6 * * *", "0 0-23/6 * * *"),
        ("0 2 * * fri#2", "0 2 * * 5#2"),
        ("@Weekly", "0 0 * * 0"),
        ("@midnight", "0 0 * * *"),
    ],
)
def test_names_question_marks_and_steps_come_back_in_normal_form(expression: str, normalised: str) -> None:
    assert validate_cron(expression) == normalised


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        (
            "0 2 31 1-3 *",
            "At 02:00, on day 31 of the month, January through March (UTC; skipped in months without a 31st)",
        ),
        ("0 2 30 * *", "At 02:00, on day 30 of the month (UTC; skipped in months without a 30th)"),
        ("0 2 29 2 *", "At 02:00, on day 29 of the month, only in February (UTC; only in leap years)"),
        (
            "0 2 29 1-2 *",
            "At 02:00, on day 29 of the month, January through February "
            "(UTC; skipped in months without a 29th)",
        ),
        ("0 2 28 2 *", "At 02:00, on day 28 of the month, only in February (UTC)"),
        (
            # The 28th listed too: the 29th alone with February and March is refused (Dagster fails it).
            "0 2 28,29,30,31 * *",
            "At 02:00, on day 28, 29, 30, and 31 of the month "
            "(UTC; no run on the 29th, 30th or 31st in months without that day)",
        ),
        (
            "0 2 15,31 * *",
            "At 02:00, on day 15 and 31 of the month (UTC; no run on the 31st in months without that day)",
        ),
        (
            "0 2 31 * 1",
            "At 02:00, on day 31 of the month, or on Monday "
            "(UTC; no run on the 31st in months without that day)",
        ),
        ("0 2 1 * *", "At 02:00, on day 1 of the month (UTC)"),
    ],
)
def test_a_description_says_which_months_miss_a_chosen_day(expression: str, words: str) -> None:
    assert describe_cron(expression, "UTC") == words


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("UTC", True),
        ("America/Argentina/ComodRivadavia", True),
        ("", False),
        ("localtime", False),
        ("Factory", False),
        ("posix/Europe/Oslo", False),
        ("RIGHT/Europe/Oslo", False),
        ("Europe/Oslo ", False),
    ],
)
def test_only_portable_iana_zones_are_taken(name: str, accepted: bool) -> None:
    if accepted:
        assert validate_timezone(name) == name
        return
    with pytest.raises(ScheduleError) as raised:
        validate_timezone(name)
    assert str(raised.value) == f"unknown timezone '{name}' (use an IANA name such as Europe/Oslo)"


def test_a_long_unknown_timezone_is_cut_in_the_message() -> None:
    name = "Europe/" + "x" * 70
    with pytest.raises(ScheduleError) as raised:
        validate_timezone(name)
    assert str(raised.value) == f"unknown timezone '{name[:64]}' (use an IANA name such as Europe/Oslo)"


def test_next_runs_refuses_a_naive_instant_and_a_negative_count() -> None:
    with pytest.raises(ValueError) as naive:
        next_runs("0 2 * * *", "UTC", datetime(2026, 1, 1), 1)
    assert str(naive.value) == "after must be timezone-aware"
    with pytest.raises(ValueError) as negative:
        next_runs("0 2 * * *", "UTC", datetime(2026, 1, 1, tzinfo=UTC), -1)
    assert str(negative.value) == "count must not be negative"


def test_next_runs_asked_again_later_or_earlier_are_still_the_next_ones() -> None:
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    first = next_runs("0 2 * * *", "UTC", start, 2)
    assert first == [datetime(2026, 6, 2, 2, 0, tzinfo=UTC), datetime(2026, 6, 3, 2, 0, tzinfo=UTC)]
    assert next_runs("0 2 * * *", "UTC", start + timedelta(hours=1), 2) == first
    # At the first run, it is past: the next ones move on.
    assert next_runs("0 2 * * *", "UTC", first[0], 2) == [first[1], datetime(2026, 6, 4, 2, 0, tzinfo=UTC)]
    # Before the instant they were computed after, an earlier run comes first.
    assert next_runs("0 2 * * *", "UTC", start - timedelta(days=1), 1) == [
        datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    ]
    assert next_runs("0 2 * * *", "UTC", start, 2) == first


def test_next_runs_are_in_the_schedules_timezone() -> None:
    [run] = next_runs("0 2 * * *", "Europe/Oslo", datetime(2026, 6, 1, 12, 0, tzinfo=UTC), 1)
    assert (run.hour, run.utcoffset()) == (2, timedelta(hours=2))


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        # Months above July: read as months, not as days of the week.
        ("0 2 30 9-12 *", "At 02:00, on day 30 of the month, September through December (UTC)"),
        # Days 2 and 32 would be one step of 30 apart; only the 2nd is a day.
        ("0 2 2/30 * *", "At 02:00, every 30 days, starting on day 2 of the month (UTC)"),
        (
            "0 2 */10 * *",
            "At 02:00, every 10 days (UTC; no run on the 31st in months without that day)",
        ),
    ],
)
def test_stepped_and_ranged_days_and_months_are_read_for_the_missing_day_note(
    expression: str, words: str
) -> None:
    assert describe_cron(expression, "UTC") == words


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [("0 2 */31 * *", "0 2 */31 * *"), ("*/59 * * * *", "*/59 * * * *"), ("0 2 * * 5#5", "0 2 * * 5#5")],
)
def test_a_step_as_large_as_its_field_and_the_fifth_weekday_are_taken(
    expression: str, normalised: str
) -> None:
    assert validate_cron(expression) == normalised


def test_an_nth_weekday_has_one_hash() -> None:
    with pytest.raises(ScheduleError) as raised:
        validate_cron("0 2 * * 1#2#3")
    assert str(raised.value) == "day-of-week field: '#2#3' must be #1-#5 (which week of the month)"


def test_a_timezone_sent_as_a_list_is_refused_as_unknown() -> None:
    with pytest.raises(ScheduleError, match=r"^unknown timezone"):
        validate_timezone(["Europe/Oslo"])  # type: ignore[arg-type]


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: Python treats such a datetime as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_an_instant_whose_zone_has_no_offset_is_refused_as_naive() -> None:
    with pytest.raises(ValueError, match=r"^after must be timezone-aware$"):
        next_runs("0 2 * * *", "UTC", datetime(2026, 1, 1, tzinfo=_NoOffset()), 1)
