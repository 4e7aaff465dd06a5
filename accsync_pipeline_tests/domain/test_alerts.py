"""Alert rules as plain values: each boundary, one notice per condition, resolution, consolidation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.alert_model import MAX_LINK_LENGTH
from accsync_pipeline.domain.alerts import (
    ActiveAlert,
    Audience,
    Decisions,
    FailingRecord,
    Notice,
    OrgFacts,
    Rule,
    Severity,
    evaluate,
    opening_key,
    run_failed_notice,
    status_link,
)
from accsync_pipeline.domain.org import AlertThresholds

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def failing(record_id: str, failures: int = 3, error: str = "Account 9999 does not exist") -> FailingRecord:
    return FailingRecord(record_id, "reimbursement", failures, error)


def apply(active: Sequence[ActiveAlert], decisions: Decisions, now: datetime) -> list[ActiveAlert]:
    """What the alert store holds after the decisions are carried out."""
    told = {n.dedupe_key for n in decisions.notices if n.audience == Audience.GLOBAL_ADMINS}
    kept = [a for a in active if a.alert_key not in decisions.cleared]
    kept += [ActiveAlert(o.alert_key, o.rule, o.org_id, now, o.details) for o in decisions.opened]
    return [
        dataclasses.replace(
            a, global_admins_told=a.global_admins_told or opening_key(a.alert_key, a.opened_at) in told
        )
        for a in kept
    ]


def to(decisions: Decisions, audience: Audience) -> list[Notice]:
    return [n for n in decisions.notices if n.audience == audience]


@given(failures=st.integers(0, 50), limit=st.integers(1, 20))
def test_a_record_alerts_from_its_limit_of_consecutive_failures(failures: int, limit: int) -> None:
    org = OrgFacts(
        "hlf",
        "HLF",
        thresholds=AlertThresholds(consecutive_failures=limit),
        failing_records=(failing("R1", failures),),
    )
    decisions = evaluate([org], [], NOW)
    assert bool(decisions.opened) == (failures >= limit)


def test_two_failures_are_quiet_and_the_third_names_the_record_type_and_error() -> None:
    assert evaluate([OrgFacts("hlf", "HLF", failing_records=(failing("R1", 2),))], [], NOW) == Decisions()
    decisions = evaluate([OrgFacts("hlf", "HLF", failing_records=(failing("R1", 3),))], [], NOW)
    assert [o.alert_key for o in decisions.opened] == ["consecutive_failures:hlf:R1"]
    [notice] = decisions.notices
    assert notice.audience == Audience.ORG_ADMINS and notice.org_id == "hlf"
    assert notice.severity == Severity.WARNING
    assert "expense reimbursement R1 in HLF has failed 3 times in a row" in notice.body
    assert "Account 9999 does not exist" in notice.body
    assert notice.link == "/orgs/hlf?status=failed&records=R1"


def test_records_failing_together_make_one_notice_listing_them() -> None:
    records = tuple(failing(f"R{i}") for i in range(7))
    decisions = evaluate([OrgFacts("hlf", "HLF", failing_records=records)], [], NOW)
    assert len(decisions.opened) == 7
    [notice] = decisions.notices
    assert notice.title == "7 records in HLF keep failing"
    assert "- and 2 more" in notice.body
    assert notice.link == "/orgs/hlf?status=failed&records=" + ",".join(f"R{i}" for i in range(7))


def test_a_link_too_long_for_its_column_keeps_only_the_status_filter() -> None:
    ids = [f"RECORD-{i:04d}-" + "x" * 40 for i in range(20)]
    assert status_link("hlf", "failed", ids) == "/orgs/hlf?status=failed"
    assert len(status_link("hlf", "failed", ids[:5])) <= MAX_LINK_LENGTH
    assert status_link("hlf", "failed", ["R 1", "R,2"]) == "/orgs/hlf?status=failed&records=R%201,R%2C2"


@given(errors=st.integers(0, 60), limit=st.integers(0, 40))
def test_an_org_alerts_above_its_error_threshold(errors: int, limit: int) -> None:
    org = OrgFacts("hlf", "HLF", thresholds=AlertThresholds(error_threshold=limit), recent_errors=errors)
    assert bool(evaluate([org], [], NOW).opened) == (errors > limit)


def test_ten_errors_are_quiet_and_eleven_tell_org_and_global_admins() -> None:
    assert evaluate([OrgFacts("hlf", "HLF", recent_errors=10)], [], NOW) == Decisions()
    decisions = evaluate([OrgFacts("hlf", "HLF", recent_errors=11)], [], NOW)
    assert [o.alert_key for o in decisions.opened] == ["error_threshold:hlf"]
    assert {n.audience for n in decisions.notices} == {Audience.ORG_ADMINS, Audience.GLOBAL_ADMINS}
    assert all(
        n.severity == Severity.CRITICAL and n.link == "/orgs/hlf?status=failed" for n in decisions.notices
    )
    assert "11 attempts" in decisions.notices[0].body


@given(age_minutes=st.integers(0, 10 * 24 * 60), hours=st.integers(1, 200), enabled=st.booleans())
def test_pending_records_alert_past_the_org_limit_only_while_enabled(
    age_minutes: int, hours: int, enabled: bool
) -> None:
    org = OrgFacts(
        "hlf",
        "HLF",
        enabled=enabled,
        thresholds=AlertThresholds(pending_hours=hours),
        overdue_pending=1,
        oldest_pending_at=NOW - timedelta(minutes=age_minutes),
    )
    assert bool(evaluate([org], [], NOW).opened) == (enabled and age_minutes > hours * 60)


def stale(age: timedelta, enabled: bool = True) -> OrgFacts:
    return OrgFacts("hlf", "HLF", enabled=enabled, overdue_pending=4, oldest_pending_at=NOW - age)


def test_47_hours_pending_is_quiet_and_49_alerts_with_a_pending_link() -> None:
    assert evaluate([stale(timedelta(hours=47))], [], NOW) == Decisions()
    assert evaluate([stale(timedelta(hours=48))], [], NOW) == Decisions()
    decisions = evaluate([stale(timedelta(hours=49))], [], NOW)
    [notice] = decisions.notices
    assert notice.link == "/orgs/hlf?status=pending"
    assert "4 approved records in HLF have waited more than 48 hours" in notice.body
    assert "approved 49 hours ago" in notice.body
    assert evaluate([stale(timedelta(hours=49), enabled=False)], [], NOW) == Decisions()


def test_an_open_condition_is_not_repeated_and_its_clearing_is_told_once() -> None:
    org = OrgFacts("hlf", "HLF", failing_records=(failing("R1"),), recent_errors=11)
    active = apply([], evaluate([org], [], NOW), NOW)
    later = NOW + timedelta(minutes=5)
    assert evaluate([org], active, later) == Decisions()

    fixed = OrgFacts("hlf", "HLF")
    decisions = evaluate([fixed], active, later)
    assert sorted(decisions.cleared) == ["consecutive_failures:hlf:R1", "error_threshold:hlf"]
    assert all(n.severity == Severity.INFO and n.dedupe_key.endswith("#resolved") for n in decisions.notices)
    assert {(n.audience, n.title) for n in decisions.notices} == {
        (Audience.ORG_ADMINS, "Resolved: 1 failing record in HLF"),
        (Audience.ORG_ADMINS, "Resolved: sync errors in HLF"),
        (Audience.GLOBAL_ADMINS, "Resolved: sync errors in HLF"),
    }
    assert evaluate([fixed], apply(active, decisions, later), later) == Decisions()


def test_switching_the_connector_off_clears_the_waiting_alert_and_says_why() -> None:
    active = apply([], evaluate([stale(timedelta(hours=49))], [], NOW), NOW)
    [notice] = evaluate([stale(timedelta(hours=50), enabled=False)], active, NOW).notices
    assert "switched off" in notice.body


def org_alerting(org_id: str) -> OrgFacts:
    return OrgFacts(org_id, org_id.upper(), recent_errors=20)


def test_one_org_alerting_goes_to_global_admins_on_its_own() -> None:
    decisions = evaluate([org_alerting("a"), OrgFacts("b", "B")], [], NOW)
    [notice] = to(decisions, Audience.GLOBAL_ADMINS)
    assert notice.title == "Many sync errors in A"
    assert "platform" not in {o.alert_key for o in decisions.opened}


def test_three_orgs_alerting_give_global_admins_one_platform_alert_and_org_admins_their_own() -> None:
    decisions = evaluate([org_alerting("a"), org_alerting("b"), org_alerting("c")], [], NOW)
    [platform] = to(decisions, Audience.GLOBAL_ADMINS)
    assert platform.title == "3 organizations need attention at once"
    assert platform.severity == Severity.CRITICAL and platform.link == "/orgs"
    assert all(f"- {name}: many sync errors" in platform.body for name in ("A", "B", "C"))
    assert sorted(n.org_id or "" for n in to(decisions, Audience.ORG_ADMINS)) == ["a", "b", "c"]
    assert (
        evaluate([org_alerting("a"), org_alerting("b")], [], NOW, platform_threshold=3).opened[-1].rule
        != Rule.PLATFORM
    )


def test_after_consolidation_ends_global_admins_catch_up_on_what_is_still_open() -> None:
    active = apply([], evaluate([org_alerting("a"), org_alerting("b")], [], NOW), NOW)
    later = NOW + timedelta(hours=1)
    decisions = evaluate([org_alerting("a"), OrgFacts("b", "B")], active, later)
    global_titles = sorted(n.title for n in to(decisions, Audience.GLOBAL_ADMINS))
    # b's alert opened and cleared while consolidated: global admins never heard of it alone.
    assert global_titles == ["Many sync errors in A", "Resolved: organizations alerting at once"]
    catch_up = next(n for n in to(decisions, Audience.GLOBAL_ADMINS) if n.title.startswith("Many"))
    assert catch_up.dedupe_key == opening_key("error_threshold:a", NOW)
    assert (
        evaluate([org_alerting("a"), OrgFacts("b", "B")], apply(active, decisions, later), later)
        == Decisions()
    )


@given(
    failures=st.lists(st.integers(0, 6), max_size=4),
    errors=st.lists(st.integers(0, 15), min_size=3, max_size=3),
    ages=st.lists(st.integers(0, 100), min_size=3, max_size=3),
)
def test_evaluating_twice_on_the_same_facts_changes_nothing_the_second_time(
    failures: list[int], errors: list[int], ages: list[int]
) -> None:
    facts = [
        OrgFacts(
            org,
            org.upper(),
            failing_records=tuple(failing(f"R{i}", n) for i, n in enumerate(failures)),
            recent_errors=errors[k],
            overdue_pending=1,
            oldest_pending_at=NOW - timedelta(hours=ages[k]),
        )
        for k, org in enumerate(("a", "b", "c"))
    ]
    first = evaluate(facts, [], NOW)
    assert len({(n.audience, n.org_id, n.dedupe_key) for n in first.notices}) == len(first.notices)
    assert evaluate(facts, apply([], first, NOW), NOW) == Decisions()


def test_run_failure_names_org_connector_and_error_once_per_run() -> None:
    notice = run_failed_notice("hlf", "HLF", "dynamics", "run-42", "HTTP 503 from Business Central")
    assert notice.title == "Sync of HLF to Dynamics 365 Business Central failed"
    assert "HTTP 503 from Business Central" in notice.body
    assert notice.dedupe_key == "run_failed:run-42" and notice.severity == Severity.CRITICAL
