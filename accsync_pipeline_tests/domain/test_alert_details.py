"""An alert's details as stored (JSON) and as read back: typed per rule, and a fallback for odd rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from accsync_pipeline.domain.alert_details import details_json, parse_details
from accsync_pipeline.domain.alert_model import (
    AlertDetails,
    ErrorsDetails,
    FailingRecord,
    PlatformDetails,
    Rule,
    UnreadDetails,
    WaitingDetails,
)

OSLO_WINTER = timezone(timedelta(hours=1))

# Each rule's details as the rules build them and as the JSON column has always held them.
STORED: list[tuple[Rule, AlertDetails, dict[str, Any]]] = [
    (
        Rule.CONSECUTIVE_FAILURES,
        FailingRecord("R1", "honorarium", 3, "HTTP 400"),
        {"record_id": "R1", "record_type": "honorarium", "consecutive_failures": 3, "error": "HTTP 400"},
    ),
    (
        Rule.CONSECUTIVE_FAILURES,
        FailingRecord("R2", "reimbursement", 5, None),
        {"record_id": "R2", "record_type": "reimbursement", "consecutive_failures": 5, "error": None},
    ),
    (Rule.ERROR_THRESHOLD, ErrorsDetails(11, 24), {"errors": 11, "window_hours": 24}),
    (
        Rule.STALE_PENDING,
        WaitingDetails(4, datetime(2026, 11, 18, 11, 59, 59, tzinfo=UTC)),
        {"overdue": 4, "oldest_approved_at": "2026-11-18T11:59:59+00:00"},
    ),
    (
        Rule.STALE_PENDING,
        WaitingDetails(1, datetime(2026, 1, 5, 8, 0, 0, 250000, tzinfo=OSLO_WINTER)),
        {"overdue": 1, "oldest_approved_at": "2026-01-05T08:00:00.250000+01:00"},
    ),
    (Rule.PLATFORM, PlatformDetails(("nord", "vest")), {"orgs": ["nord", "vest"]}),
    (Rule.PLATFORM, PlatformDetails(()), {"orgs": []}),
]


@pytest.mark.parametrize(("rule", "details", "stored"), STORED)
def test_details_are_stored_as_always_and_read_back_as_written(
    rule: Rule, details: AlertDetails, stored: dict[str, Any]
) -> None:
    assert details_json(details) == stored
    assert parse_details(rule, stored) == details
    assert parse_details(str(rule), stored) == details  # the rule as the column holds it


def test_a_read_time_keeps_its_instant_and_offset() -> None:
    [_, _, _, _, (_, written, stored), _, _] = STORED
    read = parse_details(Rule.STALE_PENDING, stored)
    assert isinstance(read, WaitingDetails) and isinstance(written, WaitingDetails)
    assert read.oldest_approved_at.utcoffset() == timedelta(hours=1)
    assert read.oldest_approved_at == datetime(2026, 1, 5, 7, 0, 0, 250000, tzinfo=UTC)


GOOD_FAILING = {"record_id": "R1", "record_type": "honorarium", "consecutive_failures": 3, "error": "e"}


@pytest.mark.parametrize(
    ("rule", "stored", "problem"),
    [
        (
            Rule.CONSECUTIVE_FAILURES,
            {"record_id": "R1", "record_type": "honorarium"},
            "consecutive_failures: expected int",
        ),
        (Rule.CONSECUTIVE_FAILURES, {**GOOD_FAILING, "record_id": 7}, "record_id: expected str"),
        (Rule.CONSECUTIVE_FAILURES, {**GOOD_FAILING, "record_type": None}, "record_type: expected str"),
        (
            Rule.CONSECUTIVE_FAILURES,
            {**GOOD_FAILING, "consecutive_failures": "3"},
            "consecutive_failures: expected int",
        ),
        (
            Rule.CONSECUTIVE_FAILURES,
            {**GOOD_FAILING, "consecutive_failures": True},
            "consecutive_failures: expected int",
        ),
        (Rule.CONSECUTIVE_FAILURES, {**GOOD_FAILING, "error": 400}, "error: expected str"),
        (Rule.ERROR_THRESHOLD, {"errors": 11}, "window_hours: expected int"),
        (Rule.ERROR_THRESHOLD, {"errors": 11.5, "window_hours": 24}, "errors: expected int"),
        (Rule.ERROR_THRESHOLD, {"errors": 11, "window_hours": False}, "window_hours: expected int"),
        (Rule.STALE_PENDING, {"overdue": 4}, "oldest_approved_at: expected str"),
        (
            Rule.STALE_PENDING,
            {"overdue": 4, "oldest_approved_at": "yesterday"},
            "oldest_approved_at: expected an ISO 8601 time",
        ),
        (
            Rule.STALE_PENDING,
            {"overdue": 4, "oldest_approved_at": "2026-11-18T11:59:59"},
            "oldest_approved_at: expected a time with its offset",
        ),
        (
            Rule.STALE_PENDING,
            {"overdue": "4", "oldest_approved_at": "2026-11-18T11:59:59+00:00"},
            "overdue: expected int",
        ),
        (Rule.PLATFORM, {"orgs": "nord"}, "orgs: expected list"),
        (Rule.PLATFORM, {"orgs": ["nord", 7]}, "orgs: expected a list of org ids"),
        (Rule.PLATFORM, {}, "orgs: expected list"),
        (Rule.RUN_FAILED, {"errors": 1}, "no details are stored for rule 'run_failed'"),
        (Rule.RUN_REFUSED, {}, "no details are stored for rule 'run_refused'"),
        ("gone_rule", {"errors": 1, "window_hours": 2}, "no details are stored for rule 'gone_rule'"),
    ],
)
def test_a_stored_row_that_does_not_parse_is_kept_as_stored_with_what_is_wrong(
    rule: str, stored: dict[str, Any], problem: str
) -> None:
    read = parse_details(rule, stored)
    assert read == UnreadDetails(stored, problem)
    assert details_json(read) == stored  # written back unchanged


@pytest.mark.parametrize(
    ("stored", "kind"), [(None, "NoneType"), (["R1"], "list"), ("R1", "str"), (3, "int")]
)
def test_stored_details_that_are_not_an_object_read_as_empty(stored: Any, kind: str) -> None:
    read = parse_details(Rule.ERROR_THRESHOLD, stored)
    assert read == UnreadDetails({}, f"expected an object, found {kind}")
    assert details_json(read) == {}


def test_the_values_of_unread_details_stay_out_of_their_text() -> None:
    read = parse_details(Rule.ERROR_THRESHOLD, {"errors": "secret-ish", "window_hours": 24})
    assert "secret-ish" not in repr(read) and "secret-ish" not in read.problem
    assert repr(read) == "UnreadDetails(problem='errors: expected int')"
