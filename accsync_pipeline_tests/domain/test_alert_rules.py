"""What each alert rule opens and stores, and how orgs whose record alerts are open count for the platform."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from accsync_pipeline.domain.alert_details import details_json
from accsync_pipeline.domain.alert_model import ErrorsDetails, PlatformDetails, WaitingDetails
from accsync_pipeline.domain.alerts import (
    ActiveAlert,
    AlertOpening,
    Audience,
    Decisions,
    FailingRecord,
    Notice,
    OrgFacts,
    Rule,
    evaluate,
)
from accsync_pipeline.domain.org import AlertThresholds

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NORD_VEST = PlatformDetails(("nord", "vest"))


def to(decisions: Decisions, audience: Audience) -> list[Notice]:
    return [n for n in decisions.notices if n.audience == audience]


def test_an_error_alert_stores_the_count_and_window_and_both_audiences_read_the_same_notice() -> None:
    org = OrgFacts("hlf", "HLF", thresholds=AlertThresholds(error_window_hours=6), recent_errors=12)
    decisions = evaluate([org], [], NOW)
    assert decisions.opened == (
        AlertOpening("error_threshold:hlf", Rule.ERROR_THRESHOLD, "hlf", ErrorsDetails(12, 6)),
    )
    assert details_json(decisions.opened[0].details) == {"errors": 12, "window_hours": 6}
    [to_org] = to(decisions, Audience.ORG_ADMINS)
    [to_global] = to(decisions, Audience.GLOBAL_ADMINS)
    assert to_org.title == "Many sync errors in HLF" and to_org.body.startswith(
        "In the last 6 hours, 12 attempts"
    )
    assert to_global == dataclasses.replace(to_org, audience=Audience.GLOBAL_ADMINS)


def test_a_waiting_alert_stores_how_many_wait_and_since_when() -> None:
    oldest = NOW - timedelta(hours=48, seconds=1)
    org = OrgFacts("hlf", "HLF", overdue_pending=4, oldest_pending_at=oldest)
    decisions = evaluate([org], [], NOW)
    assert decisions.opened == (
        AlertOpening("stale_pending:hlf", Rule.STALE_PENDING, "hlf", WaitingDetails(4, oldest)),
    )
    stored = {"overdue": 4, "oldest_approved_at": "2026-11-18T11:59:59+00:00"}
    assert details_json(decisions.opened[0].details) == stored
    [notice] = decisions.notices
    assert notice.title == "Approved records are waiting in HLF"
    assert "The oldest was approved 48 hours ago." in notice.body


def test_the_pending_limit_is_exact_to_the_second() -> None:
    at_limit = OrgFacts("hlf", "HLF", overdue_pending=1, oldest_pending_at=NOW - timedelta(hours=48))
    assert evaluate([at_limit], [], NOW) == Decisions()
    past = dataclasses.replace(at_limit, oldest_pending_at=NOW - timedelta(hours=48, seconds=1))
    assert len(evaluate([past], [], NOW).opened) == 1


def test_no_overdue_record_means_no_waiting_alert_whatever_the_oldest_approval() -> None:
    org = OrgFacts("hlf", "HLF", overdue_pending=0, oldest_pending_at=NOW - timedelta(days=30))
    assert evaluate([org], [], NOW) == Decisions()


def test_the_platform_alert_stores_the_orgs_alerting_in_order() -> None:
    facts = [OrgFacts(o, o.upper(), recent_errors=20) for o in ("vest", "nord")]
    decisions = evaluate(facts, [], NOW)
    assert decisions.opened[-1] == AlertOpening("platform", Rule.PLATFORM, None, NORD_VEST)
    assert details_json(decisions.opened[-1].details) == {"orgs": ["nord", "vest"]}


def test_orgs_whose_record_alerts_are_open_already_count_and_are_named_but_open_nothing() -> None:
    facts = [OrgFacts("nord", "Nord", failing_alerted=2), OrgFacts("vest", "Vest", failing_alerted=1)]
    decisions = evaluate(facts, [], NOW)
    assert decisions.opened == (AlertOpening("platform", Rule.PLATFORM, None, NORD_VEST),)
    [notice] = decisions.notices
    assert notice.title == "2 organizations need attention at once"
    assert "\n- Nord: records keep failing\n- Vest: records keep failing\n" in notice.body


def test_an_org_with_open_record_alerts_keeps_the_platform_alert_open() -> None:
    platform = ActiveAlert("platform", Rule.PLATFORM, None, NOW - timedelta(hours=1), NORD_VEST)
    errors = ActiveAlert("error_threshold:vest", Rule.ERROR_THRESHOLD, "vest", NOW - timedelta(hours=1))
    facts = [OrgFacts("nord", "Nord", failing_alerted=1), OrgFacts("vest", "Vest", recent_errors=20)]
    assert evaluate(facts, [platform, errors], NOW) == Decisions()


def test_the_platform_alert_clears_below_its_threshold_and_names_who_still_alerts() -> None:
    facts = [OrgFacts(o, o.upper(), recent_errors=20) for o in ("a", "b", "c")]
    opened = evaluate(facts, [], NOW, platform_threshold=3)
    platform = ActiveAlert("platform", Rule.PLATFORM, None, NOW, opened.opened[-1].details)
    later = NOW + timedelta(hours=1)
    errors_a = ActiveAlert("error_threshold:a", Rule.ERROR_THRESHOLD, "a", NOW, global_admins_told=False)
    decisions = evaluate([facts[0], OrgFacts("b", "B"), OrgFacts("c", "C")], [platform, errors_a], later, 3)
    assert decisions.cleared == ("platform",)
    resolved = next(n for n in decisions.notices if n.title == "Resolved: organizations alerting at once")
    assert resolved.body == "Fewer than 3 organizations are alerting now. Still alerting: A."


def test_record_alerts_of_an_org_no_longer_there_are_resolved_under_its_id() -> None:
    gone = ActiveAlert(
        "consecutive_failures:gone:R1",
        Rule.CONSECUTIVE_FAILURES,
        "gone",
        NOW - timedelta(days=1),
        FailingRecord("R1", "honorarium", 3, "refused"),
    )
    decisions = evaluate([], [gone], NOW)
    assert decisions.cleared == ("consecutive_failures:gone:R1",)
    [notice] = decisions.notices
    assert (notice.title, notice.body) == (
        "Resolved: 1 failing record in gone",
        "No longer failing in gone: honorarium R1.",
    )
