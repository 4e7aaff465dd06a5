"""Alert evaluation against the real database (SQLite and PostgreSQL), with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.alert_model import ErrorsDetails, FailingRecord, UnreadDetails
from accsync_pipeline.domain.alerts import AlertOpening, Rule
from accsync_pipeline.domain.org import AlertThresholds, OrgConfig, User
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service.alerting import evaluate_alerts, notify_run_failed
from accsync_pipeline.store import alerts as alert_store
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import records
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.alerts import AlertStateConflict
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import alert_state, approved_records, notifications

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
GLOBAL = "gunn.global"


def admin_of(org_id: str) -> str:
    return f"{org_id}.admin"


def add_org(conn: sa.Connection, org_id: str, enabled: bool = True) -> None:
    org_store.insert_org(conn, OrgConfig(org_id, org_id.upper(), "xledger", {}, enabled=enabled), NOW)
    user_store.insert_user(
        conn, User(admin_of(org_id), "Admin", f"{org_id}@example.org", "org_admin", org_id)
    )


def add_records(conn: sa.Connection, org_id: str, count: int, approved_at: datetime = NOW) -> list[str]:
    ids = [f"{org_id.upper()}-{i}" for i in range(count)]
    for record_id in ids:
        conn.execute(
            approved_records.insert().values(
                record_id=record_id,
                org_id=org_id,
                record_type="honorarium",
                person_id="P1",
                person_name="Kari Nordmann",
                employee_number="20001",
                amount=Decimal("1500.00"),
                currency="NOK",
                expense_account="5330",
                description="Honorar",
                expense_date=approved_at.date(),
                approved_at=approved_at,
                approved_by="approver",
                updated_at=approved_at,
            )
        )
    records.intake(conn, org_id, approved_at)
    return ids


def fail(conn: sa.Connection, org_id: str, ids: list[str], at: datetime, run_id: str = "run-f") -> None:
    results = [RecordResult(r, org_id, SyncStatus.FAILED, error="Account 5330 is blocked") for r in ids]
    records.write_results(conn, results, f"{run_id}-{at.isoformat()}", "schedule", at)


def export(conn: sa.Connection, org_id: str, ids: list[str], at: datetime) -> None:
    results = [RecordResult(r, org_id, SyncStatus.EXPORTED, external_id=f"GL-{r}") for r in ids]
    records.write_results(conn, results, f"run-ok-{at.isoformat()}", "retry", at)


def inbox(conn: sa.Connection, user_id: str) -> list[tuple[str, str]]:
    """(title, link) of a user's notifications, oldest first."""
    return [(n.title, n.link) for n in reversed(notification_store.list_for_user(conn, user_id))]


@pytest.fixture
def db(engine: Engine) -> Engine:
    with engine.begin() as conn:
        user_store.insert_user(conn, User(GLOBAL, "Gunn", "gunn@example.org", "global_admin", None))
    return engine


def test_the_third_consecutive_failure_alerts_once_and_a_successful_retry_resolves_it(db: Engine) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        ids = add_records(conn, "hlf", 2)
        for k in range(2):
            fail(conn, "hlf", ids, NOW + timedelta(minutes=k))
        assert evaluate_alerts(conn, NOW + timedelta(minutes=2)).notifications_written == 0
        fail(conn, "hlf", ids[:1], NOW + timedelta(minutes=3))
        report = evaluate_alerts(conn, NOW + timedelta(minutes=4))
        assert report.opened == ("consecutive_failures:hlf:HLF-0",)
        [alert] = notification_store.list_for_user(conn, admin_of("hlf"))
        assert alert.title == "A record in HLF keeps failing"
        assert "honorarium HLF-0" in alert.body and "Account 5330 is blocked" in alert.body
        assert "Kari" not in alert.body and "1500" not in alert.body
        assert alert.link == "/orgs/hlf?status=failed&records=HLF-0"
        assert alert.severity == "warning"

        for minute in (5, 10, 15):
            assert evaluate_alerts(conn, NOW + timedelta(minutes=minute)).notifications_written == 0

        records.release_for_manual_retry(conn, "hlf", ids[:1], NOW + timedelta(minutes=16))
        assert evaluate_alerts(conn, NOW + timedelta(minutes=17)).cleared == ()
        export(conn, "hlf", ids[:1], NOW + timedelta(minutes=18))
        report = evaluate_alerts(conn, NOW + timedelta(minutes=19))
        assert report.cleared == ("consecutive_failures:hlf:HLF-0",)
        assert inbox(conn, admin_of("hlf"))[-1] == ("Resolved: 1 failing record in HLF", "/orgs/hlf")
        assert notification_store.list_for_user(conn, GLOBAL) == []
        assert alert_store.active_alerts(conn) == []


def test_a_record_alert_stored_with_details_that_do_not_parse_still_clears_named_by_its_key(
    db: Engine,
) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        ids = add_records(conn, "hlf", 1)
        for k in range(3):
            fail(conn, "hlf", ids, NOW + timedelta(minutes=k))
        evaluate_alerts(conn, NOW + timedelta(minutes=4))
        [alert] = alert_store.active_alerts(conn)
        assert alert.details == FailingRecord("HLF-0", "honorarium", 3, "Account 5330 is blocked")
        conn.execute(alert_state.update().values(details={"record": "HLF-0"}))  # as an older version wrote
        [alert] = alert_store.active_alerts(conn)
        assert alert.details == UnreadDetails({"record": "HLF-0"}, "record_id: expected str")

        export(conn, "hlf", ids, NOW + timedelta(minutes=5))
        assert evaluate_alerts(conn, NOW + timedelta(minutes=6)).cleared == (
            "consecutive_failures:hlf:HLF-0",
        )
        resolved = notification_store.list_for_user(conn, admin_of("hlf"))[0]
        assert (resolved.title, resolved.body) == (
            "Resolved: 1 failing record in HLF",
            "No longer failing in HLF: record HLF-0.",
        )


def test_eleven_errors_in_the_window_alert_org_and_global_admins_and_clear_after_retry(db: Engine) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        ids = add_records(conn, "hlf", 12)
        fail(conn, "hlf", ids[11:], NOW - timedelta(hours=25))  # outside the 24-hour window
        fail(conn, "hlf", ids[:10], NOW - timedelta(hours=23))
        assert evaluate_alerts(conn, NOW).opened == ()
        fail(conn, "hlf", ids[10:11], NOW - timedelta(hours=1))
        assert evaluate_alerts(conn, NOW).opened == ("error_threshold:hlf",)
        assert inbox(conn, admin_of("hlf")) == [("Many sync errors in HLF", "/orgs/hlf?status=failed")]
        assert inbox(conn, GLOBAL) == [("Many sync errors in HLF", "/orgs/hlf?status=failed")]
        assert evaluate_alerts(conn, NOW + timedelta(minutes=5)).notifications_written == 0

        export(conn, "hlf", ids[:3], NOW + timedelta(minutes=6))
        assert evaluate_alerts(conn, NOW + timedelta(minutes=7)).cleared == ("error_threshold:hlf",)
        for user in (admin_of("hlf"), GLOBAL):
            assert inbox(conn, user)[-1] == ("Resolved: sync errors in HLF", "/orgs/hlf")


def test_errors_leaving_the_window_clear_the_alert(db: Engine) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        fail(conn, "hlf", add_records(conn, "hlf", 11), NOW - timedelta(hours=23))
        assert evaluate_alerts(conn, NOW).opened == ("error_threshold:hlf",)
        assert evaluate_alerts(conn, NOW + timedelta(hours=2)).cleared == ("error_threshold:hlf",)


def test_pending_47_hours_is_quiet_49_alerts_and_a_disabled_connector_never_does(db: Engine) -> None:
    approved = NOW - timedelta(hours=47)
    with db.begin() as conn:
        add_org(conn, "hlf")
        add_org(conn, "off", enabled=False)
        add_records(conn, "hlf", 3, approved)
        add_records(conn, "off", 3, approved)
        assert evaluate_alerts(conn, NOW).opened == ()
        assert evaluate_alerts(conn, NOW + timedelta(hours=2)).opened == ("stale_pending:hlf",)
        [alert] = notification_store.list_for_user(conn, admin_of("hlf"))
        assert alert.link == "/orgs/hlf?status=pending"
        assert "3 approved records in HLF have waited more than 48 hours" in alert.body
        assert notification_store.list_for_user(conn, admin_of("off")) == []
        assert notification_store.list_for_user(conn, GLOBAL) == []


def test_one_org_failing_alerts_global_admins_about_it_three_give_one_platform_alert(db: Engine) -> None:
    with db.begin() as conn:
        for org_id in ("a", "b", "c"):
            add_org(conn, org_id)
        fail(conn, "a", add_records(conn, "a", 11), NOW - timedelta(hours=1))
        evaluate_alerts(conn, NOW)
        assert [t for t, _ in inbox(conn, GLOBAL)] == ["Many sync errors in A"]

        fail(conn, "b", add_records(conn, "b", 11), NOW)
        fail(conn, "c", add_records(conn, "c", 11), NOW)
        report = evaluate_alerts(conn, NOW + timedelta(minutes=5))
        assert sorted(report.opened) == ["error_threshold:b", "error_threshold:c", "platform"]
        titles = [t for t, _ in inbox(conn, GLOBAL)]
        assert titles == ["Many sync errors in A", "3 organizations need attention at once"]
        platform = notification_store.list_for_user(conn, GLOBAL)[0]
        assert all(f"- {name}: many sync errors" in platform.body for name in ("A", "B", "C"))
        assert platform.link == "/orgs" and platform.severity == "critical" and platform.org_id is None
        for org_id in ("b", "c"):
            assert [t for t, _ in inbox(conn, admin_of(org_id))] == [f"Many sync errors in {org_id.upper()}"]
        assert evaluate_alerts(conn, NOW + timedelta(minutes=10)).notifications_written == 0


def test_records_failing_with_their_alerts_open_still_count_towards_the_platform_alert(db: Engine) -> None:
    with db.begin() as conn:
        failing = {}
        for org_id in ("a", "b"):
            add_org(conn, org_id)
            failing[org_id] = add_records(conn, org_id, 1)
            for k in range(3):
                fail(conn, org_id, failing[org_id], NOW + timedelta(minutes=k))
        report = evaluate_alerts(conn, NOW + timedelta(minutes=5))
        assert sorted(report.opened) == [
            "consecutive_failures:a:A-0",
            "consecutive_failures:b:B-0",
            "platform",
        ]
        # Nothing changed: the open per-record alerts are not read again, and the platform alert holds.
        quiet = evaluate_alerts(conn, NOW + timedelta(minutes=10))
        assert (quiet.opened, quiet.cleared, quiet.notifications_written) == ((), (), 0)

        export(conn, "a", failing["a"], NOW + timedelta(minutes=11))
        report = evaluate_alerts(conn, NOW + timedelta(minutes=12))
        assert sorted(report.cleared) == ["consecutive_failures:a:A-0", "platform"]
        resolved = notification_store.list_for_user(conn, GLOBAL)[0]
        assert resolved.title == "Resolved: organizations alerting at once"
        assert "Still alerting: B." in resolved.body
        assert [a.alert_key for a in alert_store.active_alerts(conn)] == ["consecutive_failures:b:B-0"]


def test_run_failure_tells_the_org_admins_once_per_run(db: Engine) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        user_store.insert_user(conn, User("other.admin", "Other", "o@example.org", "org_admin", "hlf"))
        assert notify_run_failed(conn, "hlf", "dynamics", "run-7", "HTTP 503 after 3 retries", NOW) == 2
        assert notify_run_failed(conn, "hlf", "dynamics", "run-7", "HTTP 503 after 3 retries", NOW) == 0
        [notice] = notification_store.list_for_user(conn, admin_of("hlf"))
        assert notice.title == "Sync of HLF to Dynamics 365 Business Central failed"
        assert "HTTP 503 after 3 retries" in notice.body and notice.dedupe_key == "run_failed:run-7"
        assert notification_store.list_for_user(conn, GLOBAL) == []


def test_notifications_are_listed_newest_first_and_marked_read_only_by_their_user(db: Engine) -> None:
    with db.begin() as conn:
        add_org(conn, "hlf")
        for k in range(3):
            notify_run_failed(conn, "hlf", "xledger", f"run-{k}", "boom", NOW + timedelta(minutes=k))
        user = admin_of("hlf")
        listed = notification_store.list_for_user(conn, user)
        assert [n.dedupe_key for n in listed] == ["run_failed:run-2", "run_failed:run-1", "run_failed:run-0"]
        assert notification_store.mark_read(conn, GLOBAL, NOW, listed[0].notification_id) == 0
        assert notification_store.mark_read(conn, user, NOW, listed[0].notification_id) == 1
        assert notification_store.unread_count(conn, user) == 2
        assert len(notification_store.list_for_user(conn, user, unread_only=True)) == 2
        assert notification_store.mark_read(conn, user, NOW) == 2
        assert notification_store.unread_count(conn, user) == 0
        read_at = conn.execute(sa.select(notifications.c.read_at)).scalars().all()
        assert all(t is not None and t.tzinfo is not None for t in read_at)


def test_thresholds_are_each_orgs_own(db: Engine) -> None:
    strict = AlertThresholds(consecutive_failures=1, error_threshold=2, error_window_hours=2, pending_hours=1)
    with db.begin() as conn:
        add_org(conn, "hlf")
        org_store.insert_org(conn, OrgConfig("strict", "Strict", "xledger", {}, alerts=strict), NOW)
        user_store.insert_user(conn, User(admin_of("strict"), "A", "s@example.org", "org_admin", "strict"))
        for org_id in ("hlf", "strict"):
            ids = add_records(conn, org_id, 4, NOW - timedelta(hours=3))
            fail(conn, org_id, ids[:3], NOW - timedelta(hours=1))
        report = evaluate_alerts(conn, NOW + timedelta(minutes=1))
        assert sorted(report.opened) == [
            "consecutive_failures:strict:STRICT-0",
            "consecutive_failures:strict:STRICT-1",
            "consecutive_failures:strict:STRICT-2",
            "error_threshold:strict",
            "stale_pending:strict",
        ]
        # Two hours later the strict org's failures have left its two-hour window; HLF's 24 hours keep going.
        assert evaluate_alerts(conn, NOW + timedelta(hours=2)).cleared == ("error_threshold:strict",)


def test_an_alert_changed_by_another_evaluation_first_is_a_conflict(db: Engine) -> None:
    opening = AlertOpening("error_threshold:hlf", Rule.ERROR_THRESHOLD, "hlf", ErrorsDetails(11, 24))
    with db.connect() as conn:
        alert_store.open_alert(conn, opening, NOW)
        alert_store.clear_alert(conn, opening.alert_key, NOW)
        with pytest.raises(AlertStateConflict):
            alert_store.clear_alert(conn, opening.alert_key, NOW)
        alert_store.open_alert(conn, opening, NOW + timedelta(hours=1))
        [active] = alert_store.active_alerts(conn)
        assert active.opened_at == NOW + timedelta(hours=1) and active.details == ErrorsDetails(11, 24)
        stored = conn.execute(sa.select(alert_state.c.details)).scalar_one()
        assert stored == {"errors": 11, "window_hours": 24}
        with pytest.raises(AlertStateConflict):
            alert_store.open_alert(conn, opening, NOW)
