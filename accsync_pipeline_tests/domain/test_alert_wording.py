"""What administrators are told, word for word: each notice's audience, severity, title, text, link and key.

The dedupe key decides whether a notice is sent again, the link where it leads; the texts name
the organization, the record type and the error, never a person or an amount.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accsync_pipeline.domain.alert_model import (
    PLATFORM_KEY,
    ActiveAlert,
    AlertDetails,
    Audience,
    Condition,
    ErrorsDetails,
    FailingRecord,
    Notice,
    OrgFacts,
    Rule,
    Severity,
    UnreadDetails,
    WaitingDetails,
    alert_key_of,
)
from accsync_pipeline.domain.alert_texts import (
    failing_notice,
    failing_resolved_notice,
    opening_text,
    platform_notice,
    platform_resolved_notice,
    resolution_notice,
    run_failed_notice,
    run_refused_notice,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=2)
OLDEST = NOW - timedelta(hours=50)
HLF = OrgFacts("hlf", "Hjelpelaget", recent_errors=3, oldest_pending_at=OLDEST)
NRK = OrgFacts("nrk", "Norsk Kor", has_org_admins=False)
WAITING = (
    "to be posted to the accounting system, although the connector is switched on. The oldest was approved "
    "50 hours ago. Whether no sync took them in or a sync failed to post them, check the latest runs, the "
    "failed records and the sync schedule."
)
RETRY_HINT = "\nOpen the status screen to see {}, and retry once the cause is fixed."
NOT_POSTED = (
    "\nRecords that were not posted are still waiting and will be sent by the next sync; "
    "none is posted twice."
)


@pytest.mark.parametrize(
    ("rule", "details", "expected"),
    [
        (
            Rule.ERROR_THRESHOLD,
            ErrorsDetails(1, 24),
            (
                Severity.CRITICAL,
                "Many sync errors in Hjelpelaget",
                "In the last 24 hours, 1 attempt to post Hjelpelaget's records to the accounting system "
                "failed and have not succeeded since. This alert starts above 10. "
                "Open the status screen to see the failed records.",
                "/orgs/hlf?status=failed",
            ),
        ),
        (
            Rule.STALE_PENDING,
            WaitingDetails(1, OLDEST),
            (
                Severity.WARNING,
                "Approved records are waiting in Hjelpelaget",
                "1 approved record in Hjelpelaget has waited more than 48 hours " + WAITING,
                "/orgs/hlf?status=pending",
            ),
        ),
        (
            Rule.STALE_PENDING,
            WaitingDetails(2, OLDEST),
            (
                Severity.WARNING,
                "Approved records are waiting in Hjelpelaget",
                "2 approved records in Hjelpelaget have waited more than 48 hours " + WAITING,
                "/orgs/hlf?status=pending",
            ),
        ),
    ],
)
def test_opening_texts(rule: Rule, details: AlertDetails, expected: tuple[str, str, str, str]) -> None:
    assert opening_text(Condition(rule, HLF, details), NOW) == expected


def test_a_records_condition_has_no_opening_text_of_its_own() -> None:
    """Its notice lists every record of the org that crossed the limit (`failing_notice`)."""
    with pytest.raises(ValueError) as refused:
        opening_text(Condition(Rule.CONSECUTIVE_FAILURES, HLF, failing("R1")), NOW)
    assert str(refused.value) == "no opening text for a consecutive_failures condition with FailingRecord"


def failing(record_id: str, record_type: str = "reimbursement", error: str | None = "e") -> FailingRecord:
    return FailingRecord(record_id, record_type, 3, error)


@pytest.mark.parametrize(
    ("records", "title", "body", "link"),
    [
        (
            [failing("R1", "honorarium", "HTTP  400\n refused")],
            "A record in Hjelpelaget keeps failing",
            "The honorarium R1 in Hjelpelaget has failed 3 times in a row. "
            "The last error was: HTTP 400 refused" + RETRY_HINT.format("it"),
            "/orgs/hlf?status=failed&records=R1",
        ),
        (
            [failing("R0"), failing("R1", "honorarium", None)],
            "2 records in Hjelpelaget keep failing",
            "These records in Hjelpelaget have failed 3 or more times in a row:\n"
            "- expense reimbursement R0: e\n- honorarium R1: no error message was recorded"
            + RETRY_HINT.format("them"),
            "/orgs/hlf?status=failed&records=R0,R1",
        ),
        (
            [failing(f"R{i}") for i in range(5)],
            "5 records in Hjelpelaget keep failing",
            "These records in Hjelpelaget have failed 3 or more times in a row:\n"
            + "\n".join(f"- expense reimbursement R{i}: e" for i in range(5))
            + RETRY_HINT.format("them"),
            "/orgs/hlf?status=failed&records=R0,R1,R2,R3,R4",
        ),
        (
            [failing(f"R{i}") for i in range(7)],
            "7 records in Hjelpelaget keep failing",
            "These records in Hjelpelaget have failed 3 or more times in a row:\n"
            + "\n".join(f"- expense reimbursement R{i}: e" for i in range(5))
            + "\n- and 2 more"
            + RETRY_HINT.format("them"),
            "/orgs/hlf?status=failed&records=R0,R1,R2,R3,R4,R5,R6",
        ),
    ],
)
def test_failing_notices(records: list[FailingRecord], title: str, body: str, link: str) -> None:
    assert failing_notice(HLF, records, NOW) == Notice(
        Audience.ORG_ADMINS,
        "hlf",
        Severity.WARNING,
        title,
        body,
        link,
        "consecutive_failures:hlf@2026-03-02T09:00:00+00:00",
    )


def record_alert(record_id: str) -> ActiveAlert:
    return ActiveAlert(
        alert_key_of(Rule.CONSECUTIVE_FAILURES, "hlf", record_id),
        Rule.CONSECUTIVE_FAILURES,
        "hlf",
        OPENED,
        FailingRecord(record_id, "honorarium", 3, "e"),
    )


@pytest.mark.parametrize(
    ("count", "title", "shown"),
    [
        (1, "Resolved: 1 failing record in Hjelpelaget", "honorarium R0"),
        (5, "Resolved: 5 failing records in Hjelpelaget", ", ".join(f"honorarium R{i}" for i in range(5))),
        (
            7,
            "Resolved: 7 failing records in Hjelpelaget",
            ", ".join(f"honorarium R{i}" for i in range(5)) + " and 2 more",
        ),
    ],
)
def test_failing_resolved_notices(count: int, title: str, shown: str) -> None:
    alerts = [record_alert(f"R{i}") for i in range(count)]
    assert failing_resolved_notice("hlf", "Hjelpelaget", alerts, NOW) == Notice(
        Audience.ORG_ADMINS,
        "hlf",
        Severity.INFO,
        title,
        f"No longer failing in Hjelpelaget: {shown}.",
        "/orgs/hlf",
        "consecutive_failures:hlf@2026-03-02T09:00:00+00:00#resolved",
    )


def test_a_resolved_record_whose_stored_details_did_not_parse_is_named_by_its_alert_key() -> None:
    unread = ActiveAlert(
        alert_key_of(Rule.CONSECUTIVE_FAILURES, "hlf", "R:9"),
        Rule.CONSECUTIVE_FAILURES,
        "hlf",
        OPENED,
        UnreadDetails({"record": "R:9"}, "record_id: expected str"),
    )
    notice = failing_resolved_notice("hlf", "Hjelpelaget", [record_alert("R0"), unread], NOW)
    assert notice.body == "No longer failing in Hjelpelaget: honorarium R0, record R:9."


@pytest.mark.parametrize(
    ("audience", "rule", "org", "title", "body"),
    [
        (
            Audience.ORG_ADMINS,
            Rule.ERROR_THRESHOLD,
            HLF,
            "Resolved: sync errors in Hjelpelaget",
            "Hjelpelaget is back below the alert level: 3 sync errors not yet put right.",
        ),
        (
            Audience.ORG_ADMINS,
            Rule.ERROR_THRESHOLD,
            OrgFacts("hlf", "Hjelpelaget", recent_errors=1),
            "Resolved: sync errors in Hjelpelaget",
            "Hjelpelaget is back below the alert level: 1 sync error not yet put right.",
        ),
        (
            Audience.GLOBAL_ADMINS,
            Rule.ERROR_THRESHOLD,
            None,
            "Resolved: sync errors in hlf",
            "hlf is back below the alert level: 0 sync errors not yet put right.",
        ),
        (
            Audience.ORG_ADMINS,
            Rule.STALE_PENDING,
            OrgFacts("hlf", "Hjelpelaget", enabled=False),
            "Resolved: approved records waiting in Hjelpelaget",
            "The Hjelpelaget connector was switched off, so waiting records no longer raise this alert.",
        ),
        (
            Audience.ORG_ADMINS,
            Rule.STALE_PENDING,
            HLF,
            "Resolved: approved records waiting in Hjelpelaget",
            "No approved record in Hjelpelaget is waiting too long to be posted any more.",
        ),
        (
            Audience.GLOBAL_ADMINS,
            Rule.STALE_PENDING,
            None,
            "Resolved: approved records waiting in hlf",
            "No approved record in hlf is waiting too long to be posted any more.",
        ),
    ],
)
def test_resolution_notices(
    audience: Audience, rule: Rule, org: OrgFacts | None, title: str, body: str
) -> None:
    alert = ActiveAlert(alert_key_of(rule, "hlf"), rule, "hlf", OPENED)
    assert resolution_notice(audience, alert, org) == Notice(
        audience,
        "hlf",
        Severity.INFO,
        title,
        body,
        "/orgs/hlf",
        f"{rule}:hlf@2026-03-02T07:00:00+00:00#resolved",
    )


def test_a_resolution_without_an_org_links_to_the_overview() -> None:
    alert = ActiveAlert("error_threshold:", Rule.ERROR_THRESHOLD, None, OPENED)
    notice = resolution_notice(Audience.GLOBAL_ADMINS, alert, None)
    assert (notice.org_id, notice.link, notice.title) == (None, "/orgs/", "Resolved: sync errors in ")


PLATFORM_OPENING = (
    "Several organizations are alerting at the same time, which may point to a problem with the platform "
    "or an accounting system:\n"
)
UNATTENDED = " (no organization administrator: its alerts come to you)"


@pytest.mark.parametrize(
    ("held", "title", "body"),
    [
        (
            [Condition(Rule.ERROR_THRESHOLD, HLF), Condition(Rule.STALE_PENDING, HLF)],
            "1 organizations need attention at once",
            PLATFORM_OPENING + "- Hjelpelaget: many sync errors; approved records waiting too long\n"
            "Each organization's administrators have been told about their own organization.",
        ),
        (
            [Condition(Rule.STALE_PENDING, NRK)],
            "1 organizations need attention at once",
            PLATFORM_OPENING + "- Norsk Kor: approved records waiting too long" + UNATTENDED + "\n"
            "None of these organizations has an administrator: their alerts come to you.",
        ),
        (
            [Condition(Rule.CONSECUTIVE_FAILURES, NRK), Condition(Rule.ERROR_THRESHOLD, HLF)],
            "2 organizations need attention at once",
            PLATFORM_OPENING
            + "- Hjelpelaget: many sync errors\n- Norsk Kor: records keep failing"
            + UNATTENDED
            + "\n"
            "The administrators of the other organizations have been told about their own organization.",
        ),
    ],
)
def test_platform_notices(held: list[Condition], title: str, body: str) -> None:
    conditions = {f"{c.rule}:{c.org.org_id}": c for c in held}
    assert platform_notice(conditions, NOW) == Notice(
        Audience.GLOBAL_ADMINS,
        None,
        Severity.CRITICAL,
        title,
        body,
        "/orgs",
        "platform@2026-03-02T09:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("held", "body"),
    [
        ([], "Fewer than 3 organizations are alerting now."),
        (
            [Condition(Rule.STALE_PENDING, NRK), Condition(Rule.ERROR_THRESHOLD, HLF)],
            "Fewer than 3 organizations are alerting now. Still alerting: Hjelpelaget, Norsk Kor.",
        ),
    ],
)
def test_platform_resolved_notices(held: list[Condition], body: str) -> None:
    alert = ActiveAlert(PLATFORM_KEY, Rule.PLATFORM, None, OPENED)
    conditions = {f"{c.rule}:{c.org.org_id}": c for c in held}
    assert platform_resolved_notice(alert, conditions, 3) == Notice(
        Audience.GLOBAL_ADMINS,
        None,
        Severity.INFO,
        "Resolved: organizations alerting at once",
        body,
        "/orgs",
        "platform@2026-03-02T07:00:00+00:00#resolved",
    )


@pytest.mark.parametrize(
    ("connector_type", "error", "retries", "connector", "how", "cause"),
    [
        ("dynamics", "boom", 1, "Dynamics 365 Business Central", "stopped after 1 retry", "boom"),
        ("xledger", None, 2, "Xledger", "stopped after 2 retries", "no error message was recorded"),
        ("xledger", "x", 0, "Xledger", "stopped; it was not retried", "x"),
        ("sap", "x", -1, "sap", "stopped; it was not retried", "x"),
    ],
)
def test_run_failed_notices(
    connector_type: str, error: str | None, retries: int, connector: str, how: str, cause: str
) -> None:
    assert run_failed_notice("hlf", "Hjelpelaget", connector_type, "run-1", error, retries) == Notice(
        Audience.ORG_ADMINS,
        "hlf",
        Severity.CRITICAL,
        f"Sync of Hjelpelaget to {connector} failed",
        f"The sync of Hjelpelaget to {connector} {how}. The cause was: {cause}" + NOT_POSTED,
        "/orgs/hlf?status=pending",
        "run_failed:run-1",
    )


def test_a_failed_run_without_a_retry_count_was_not_retried() -> None:
    assert "stopped; it was not retried." in run_failed_notice("hlf", "H", "xledger", "r", "x").body


@pytest.mark.parametrize(
    ("org_id", "reason", "which", "cause"),
    [
        ("hlf", "no partition", "for hlf ", "no partition"),
        (None, None, "", "no error message was recorded"),
        ("", "x", "", "x"),
    ],
)
def test_run_refused_notices(org_id: str | None, reason: str | None, which: str, cause: str) -> None:
    assert run_refused_notice(org_id, "run-2", reason) == Notice(
        Audience.GLOBAL_ADMINS,
        org_id,
        Severity.INFO,
        f"A sync run {which}was refused",
        f"A sync run {which}launched through Dagster (run run-2) was refused before it touched anything: "
        f"{cause}\nNothing was posted and no organization was alerted.",
        "/orgs",
        "run_refused:run-2",
    )
