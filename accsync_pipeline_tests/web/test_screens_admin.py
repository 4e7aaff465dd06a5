"""The admin screens in headless Chromium against the real admin service (no Dagster needed here).

What the org administrators and global administrators see and do: sign-in, the global view,
health with its reasons, live numbers, scoping, notifications, the schedule editor and the
integration settings. Sync Now and retries through real Dagster runs are in test_screens_sync.
"""

# The fixtures are imported by name, so each test parameter "redefines" one.
# ruff: noqa: F811

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline.store.schema import organizations
from accsync_pipeline_tests.web.browser_fixtures import (  # noqa: F401
    GLOBAL,
    KARI,
    OLE,
    AdminServer,
    admin_server,
    browser,
    export_records,
    fail_records,
    hlf_ids,
    mark_page,
    new_page,
    not_reloaded,
    notify,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

NewPage = Callable[[], Page]
FAILED_ERROR = "G/L account 9999 does not exist in Business Central"


def hlf_with_failures(server: AdminServer) -> list[str]:
    """HLF synced most records an hour ago; the latest sync refused three: health is amber."""
    now = datetime.now(UTC)
    engine = server.engine()
    with engine.begin() as conn:
        ids = hlf_ids(conn)
        export_records(conn, "hlf", ids[:150], now - timedelta(hours=1), "run-exported")
        fail_records(conn, "hlf", ids[150:153], FAILED_ERROR, now, "run-with-failures")
    engine.dispose()
    return ids[150:153]


def open_as(new_page: NewPage, server: AdminServer, user: object, path: str) -> Page:
    page = new_page()
    sign_in(page, server, user)  # type: ignore[arg-type]
    page.goto(server.url + path)
    return page


def test_sign_in_then_the_global_view_drills_into_each_org(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    hlf_with_failures(admin_server)
    page = new_page()
    page.goto(admin_server.url + "/orgs")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Forgs$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    page.get_by_role("button", name=re.compile("Ingrid Berg")).click()

    expect(page).to_have_url(admin_server.url + "/orgs")
    table = page.locator("#orgs-table")
    hlf_row = table.locator("tr[data-org-id=hlf]")
    expect(hlf_row).to_contain_text("Dynamics 365 Business Central")
    expect(hlf_row).to_contain_text("Needs attention")
    blind_row = table.locator("tr[data-org-id=blindeforbundet]")
    expect(blind_row).to_contain_text("Xledger")
    # Set up a minute ago and not yet due by its weekly schedule: its first day is not red.
    expect(blind_row).to_contain_text("Healthy")
    screenshot(page, "global-view", docs=True)

    blind_row.get_by_role("link").click()
    expect(page).to_have_url(admin_server.url + "/orgs/blindeforbundet")
    expect(page.get_by_role("heading", level=1)).to_have_text("Norges Blindeforbund")


def test_amber_health_links_to_the_failed_records_and_their_history(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    failed = hlf_with_failures(admin_server)
    page = open_as(new_page, admin_server, KARI, "/orgs/hlf")
    expect(page.locator("#health")).to_have_attribute("data-level", "amber")
    expect(page.locator("#health-reason")).to_contain_text("3 records failed")
    expect(page.locator("#failed-count")).to_have_text("3")
    expect(page.locator("#pending-count")).to_have_text("27")
    expect(page.locator("#connector")).to_have_text("Dynamics 365 Business Central")
    # 24-hour clock, day.month.year
    expect(page.locator("#last-sync")).to_have_text(re.compile(r"^\d\d\.\d\d\.\d{4} \d\d:\d\d$"))

    page.get_by_role("link", name="See the error details").click()
    expect(page).to_have_url(re.compile(r"/orgs/hlf\?status=failed#records$"))
    rows = page.locator("#records-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(FAILED_ERROR)
    # Money the Norwegian way: "kr 1 234,50" with no-break spaces.
    expect(rows.first.locator("td.money")).to_have_text(re.compile(r"^kr\u00a0[\d\u00a0]+,\d\d$"))
    screenshot(page, "status-failed-records", docs=True)

    page.get_by_role("link", name=f"History of {failed[0]}").click()
    expect(page.locator("#retry-count")).to_contain_text("1")
    expect(page.locator("#attempts tbody tr")).to_have_count(1)
    expect(page.locator("#attempts")).to_contain_text(FAILED_ERROR)
    screenshot(page, "record-history")


def test_red_health_warns_that_no_sync_happened_although_one_was_expected(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    # Set up two days ago and never synced: its pending records expected a sync by now.
    engine = admin_server.engine()
    with engine.begin() as conn:
        conn.execute(
            organizations.update()
            .where(organizations.c.org_id == "blindeforbundet")
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
    engine.dispose()
    page = open_as(new_page, admin_server, OLE, "/orgs/blindeforbundet")
    expect(page.locator("#health")).to_have_attribute("data-level", "red")
    expect(page.get_by_role("alert")).to_contain_text("no sync has happened in the last 24 hours")
    expect(page.locator("#health-reason")).to_contain_text("140 records are pending")
    screenshot(page, "status-red", docs=True)


def test_an_org_admin_cannot_open_another_orgs_pages(admin_server: AdminServer, new_page: NewPage) -> None:
    page = open_as(new_page, admin_server, KARI, "/orgs/blindeforbundet")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    foreign = page.locator("main").inner_text()
    page.goto(admin_server.url + "/orgs/no_such_org")
    assert page.locator("main").inner_text() == foreign  # nothing tells the two apart
    for path in (
        "/orgs/blindeforbundet/schedule",
        "/orgs/blindeforbundet/settings",
        "/orgs/blindeforbundet/history",
    ):
        response = page.goto(admin_server.url + path)
        assert response is not None and response.status == 404, path
    response = page.request.get(admin_server.url + "/orgs/blindeforbundet/fragments/status")
    assert response.status == 404
    # The global view is not theirs either: it leads to their own org.
    page.goto(admin_server.url + "/orgs")
    expect(page).to_have_url(admin_server.url + "/orgs/hlf")
    screenshot(page, "status-own-org")


def test_numbers_follow_a_sync_that_runs_in_the_background_without_a_reload(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    page = open_as(new_page, admin_server, KARI, "/orgs/hlf")
    expect(page.locator("#pending-count")).to_have_text("180")
    expect(page.locator("#last-sync")).to_have_text("never")
    expect(page.locator("#sync-now")).to_be_enabled()
    mark_page(page)

    # Another process (the scheduler's run) starts a sync of HLF...
    now = datetime.now(UTC)
    engine = admin_server.engine()
    with engine.begin() as conn:
        record_store.intake(conn, "hlf", now)
        run_store.start_run(conn, "scheduled-run", "hlf", "schedule", None, now)
        run_store.add_to_total(conn, "scheduled-run", 180)
    expect(page.locator("#sync-now")).to_be_disabled()
    expect(page.locator("#running-message")).to_have_text(
        "A sync is already running (started by the schedule). You can start a new one when it has finished."
    )

    # ...and finishes it.
    with engine.begin() as conn:
        ids = hlf_ids(conn)
        results = [
            record_store.RecordResult(r, "hlf", record_store.SyncStatus.EXPORTED, external_id=r) for r in ids
        ]
        record_store.write_results(conn, results, "scheduled-run", "schedule", now)
        run_store.add_progress(conn, "scheduled-run", 180, 0, 0)
        run_store.finish_run(conn, "scheduled-run", "success", datetime.now(UTC))
    engine.dispose()
    expect(page.locator("#pending-count")).to_have_text("0")
    expect(page.locator("#last-sync")).not_to_have_text("never")
    expect(page.locator("#sync-now")).to_be_enabled()
    expect(page.locator("#health")).to_have_attribute("data-level", "green")
    assert not_reloaded(page)


def test_notifications_open_the_status_screen_filtered_to_their_records(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    failed = hlf_with_failures(admin_server)
    now = datetime.now(UTC)
    engine = admin_server.engine()
    with engine.begin() as conn:
        notify(
            conn,
            KARI,
            NotificationContent(
                "hlf",
                "warning",
                "2 records failed 3 times in a row",
                f"{failed[0]} and {failed[1]} were refused by Business Central.",
                f"/orgs/hlf?status=failed&records={failed[0]},{failed[1]}",
                "test:consecutive",
            ),
            now - timedelta(minutes=5),
        )
        notify(
            conn,
            KARI,
            NotificationContent(
                "hlf", "warning", "Records pending for 48 hours", "27 approved records wait.",
                "/orgs/hlf?status=pending", "test:pending",
            ),
            now,
        )  # fmt: skip
        notify(
            conn,
            GLOBAL,
            NotificationContent(
                None, "critical", "2 organizations have problems",
                "HLF and Norges Blindeforbund need attention.", "/orgs", "test:platform",
            ),
            now,
        )  # fmt: skip

    page = open_as(new_page, admin_server, KARI, "/orgs/hlf")
    expect(page.locator("#unread-count")).to_have_text("2")
    mark_page(page)
    with engine.begin() as conn:
        notify(
            conn,
            KARI,
            NotificationContent("hlf", "info", "Resolved", "Sync works again.", "/orgs/hlf", "test:resolved"),
            datetime.now(UTC),
        )
    expect(page.locator("#unread-count")).to_have_text("3")  # the bell follows without a reload
    assert not_reloaded(page)

    page.get_by_role("link", name="Notifications").click()
    expect(page.locator("#notification-list li")).to_have_count(3)
    screenshot(page, "notifications", docs=True)
    page.get_by_role("link", name="2 records failed 3 times in a row").click()
    expect(page).to_have_url(re.compile(rf"/orgs/hlf\?status=failed&records={failed[0]},{failed[1]}$"))
    expect(page.locator("#records-table tbody tr")).to_have_count(2)
    expect(page.locator("#records-filter-note")).to_contain_text("Showing 2 records from the notification")
    expect(page.locator("#unread-count")).to_have_text("2")

    page.goto(admin_server.url + "/notifications")
    page.get_by_role("link", name="Records pending for 48 hours").click()
    expect(page).to_have_url(re.compile(r"/orgs/hlf\?status=pending$"))
    expect(page.locator("#records-table")).to_have_attribute("data-view", "pending")
    expect(page.locator("#records-table tbody tr")).to_have_count(27)

    platform = open_as(new_page, admin_server, GLOBAL, "/notifications")
    platform.get_by_role("link", name="2 organizations have problems").click()
    expect(platform).to_have_url(admin_server.url + "/orgs")
    expect(platform.locator("#unread-count")).to_have_text("0")
    engine.dispose()


def test_the_schedule_editor_checks_cron_as_it_is_typed(admin_server: AdminServer, new_page: NewPage) -> None:
    page = open_as(new_page, admin_server, KARI, "/orgs/hlf/schedule")
    expect(page.get_by_label("Daily")).to_be_checked()
    expect(page.locator("#schedule-description")).to_contain_text("02:00")
    expect(page.locator("#next-runs li")).to_have_count(5)

    page.get_by_label("Custom").check()
    cron = page.get_by_label("Cron expression")
    cron.fill("0 25 * * *")
    expect(page.locator("#schedule-description")).to_have_text("Hour field: 25 is out of range 0-23")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#save-schedule")).to_be_disabled()
    cron.fill("0 6 * *")
    expect(page.locator("#schedule-description")).to_contain_text("needs 5 fields")
    cron.fill("30 6 * * 1-5")
    expect(page.locator("#schedule-description")).to_contain_text("06:30")
    expect(page.locator("#schedule-description")).to_contain_text("Europe/Oslo")
    expect(cron).not_to_have_attribute("aria-invalid", "true")
    runs = page.locator("#next-runs li")
    expect(runs).to_have_count(5)
    expect(runs.first).to_have_text(re.compile(r"^(Mon|Tue|Wed|Thu|Fri) \d\d\.\d\d\.\d{4} 06:30$"))

    page.get_by_label("Try again this many times").fill("5")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.locator("#save-status")).to_have_text(
        re.compile(r"^Saved\. Next scheduled run: (Mon|Tue|Wed|Thu|Fri) \d\d\.\d\d\.\d{4} 06:30\.$")
    )
    screenshot(page, "schedule-editor", docs=True)

    page.reload()
    expect(page.get_by_label("Custom")).to_be_checked()
    expect(page.get_by_label("Try again this many times")).to_have_value("5")
    page.get_by_label("Weekly").check()
    page.get_by_label("Time (24-hour, HH:MM)").fill("25:00")
    expect(page.locator("#schedule-description")).to_contain_text("is not a 24-hour time")
    page.get_by_label("Time (24-hour, HH:MM)").fill("16:00")
    page.get_by_label("Day of the week").select_option("friday")
    expect(page.locator("#schedule-description")).to_contain_text("Friday")


def test_integration_settings_never_take_a_secret_and_a_global_admin_adds_an_org(
    admin_server: AdminServer, new_page: NewPage
) -> None:
    page = open_as(new_page, admin_server, KARI, "/orgs/hlf/settings")
    secret_field = page.get_by_label("Environment variable holding the client secret")
    expect(secret_field).to_have_value("HLF_BC_CLIENT_SECRET")
    secret_field.fill("sk8Hd93kLmQpZ72xYtR4vB0q")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("[data-error-for=client_secret_env]")).to_contain_text("Looks like a secret value")
    expect(secret_field).to_have_attribute("aria-invalid", "true")
    secret_field.fill("HLF_NEW_CLIENT_SECRET")
    page.get_by_label("Sync is turned on for this organization").uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#integration-status")).to_have_text(re.compile(r"^Saved\. Sync is off"))
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#integration-status")).to_contain_text("Connection failed")
    screenshot(page, "integration-settings", docs=True)
    page.get_by_role("link", name="Status").click()
    expect(page.locator("#sync-now")).to_be_disabled()
    expect(page.locator("#disabled-message")).to_contain_text("The integration is disabled")

    admin = open_as(new_page, admin_server, GLOBAL, "/orgs")
    admin.get_by_role("link", name="Add an organization").click()
    admin.get_by_label("Organization id").fill("redcross")
    admin.get_by_label("Name", exact=True).fill("Røde Kors Hjelpekorps")
    admin.get_by_label("Accounting system", exact=True).select_option("xledger")
    xledger = admin.locator("fieldset[data-connector=xledger]")
    expect(xledger).to_be_visible()
    expect(admin.locator("fieldset[data-connector=dynamics]")).to_be_hidden()
    xledger.get_by_label("Address of the accounting system's API").fill("https://demo.xledger.net")
    xledger.get_by_label("Environment variable holding the API token").fill("REDCROSS_XLEDGER_TOKEN")
    screenshot(admin, "add-organization")
    admin.get_by_role("button", name="Add organization").click()
    expect(admin).to_have_url(admin_server.url + "/orgs/redcross/settings")
    admin.get_by_role("link", name="All organizations").first.click()
    expect(admin.locator("tr[data-org-id=redcross]")).to_contain_text("Røde Kors Hjelpekorps")
