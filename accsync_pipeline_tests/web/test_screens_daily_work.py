"""Daily work in headless Chromium, at 1280 px and at 390 px (a phone): record search, paging, sorting and
CSV; the Skipped view; a run's page; the global view's health totals; alert settings; and an axe-core
accessibility check of every one of these pages (no serious or critical violations).
"""

# The fixtures are imported by name, so each test parameter "redefines" one.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import records as record_store
from accsync_pipeline_tests.web.browser_fixtures import (  # noqa: F401
    GLOBAL,
    KARI,
    WAIT_MS,
    AdminServer,
    admin_server,
    browser,
    export_records,
    fail_records,
    hlf_ids,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390}
FAILED_ERROR = "G/L account 9999 does not exist in Business Central"


def daily_work_data(server: AdminServer) -> dict[str, Any]:
    """HLF: 150 records exported a day ago by a run, three failed, two skipped, the rest pending."""
    now = datetime.now(UTC)
    engine = server.engine()
    with engine.begin() as conn:
        ids = hlf_ids(conn)
        export_records(conn, "hlf", ids[:150], now - timedelta(days=1), "run-exported-0001")
        fail_records(conn, "hlf", ids[150:153], FAILED_ERROR, now, "run-with-failures")
        skipped = [
            record_store.RecordResult(
                r, "hlf", SyncStatus.SKIPPED, skip_reason="no employee number: add it in the app"
            )
            for r in ids[153:155]
        ]
        record_store.write_results(conn, skipped, "run-with-failures", "schedule", now)
    engine.dispose()
    return {"ids": ids, "failed": ids[150:153], "skipped": ids[153:155]}


@pytest.fixture
def pages(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Pages at a given width in their own contexts; the CSP applies (bypass only for axe)."""
    contexts: list[Any] = []

    def make(width: int = 1280, bypass_csp: bool = False) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": 860},
            locale="en-GB",
            bypass_csp=bypass_csp,
            accept_downloads=True,
        )
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_as(
    pages: Callable[..., Page], server: AdminServer, user: object, path: str, width: int = 1280
) -> Page:
    page = pages(width)
    sign_in(page, server, user)  # type: ignore[arg-type]
    page.goto(server.url + path)
    return page


def serious_axe_violations(
    pages: Callable[..., Page], server: AdminServer, user: object, path: str, width: int
) -> list[str]:
    """axe-core's serious and critical findings on the page (its script injected past the CSP)."""
    page = pages(width, bypass_csp=True)
    sign_in(page, server, user)  # type: ignore[arg-type]
    page.goto(server.url + path)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core"  # the check ran, rather than finding nothing
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def no_sideways_scroll(page: Page) -> None:
    """The page fits the window: nothing cut off to the right (tables stack on a phone)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the window"


def test_find_a_record_by_volunteer_id_amount_or_error_page_sort_and_download(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    data = daily_work_data(admin_server)
    page = open_as(pages, admin_server, KARI, "/orgs/hlf?status=all")
    summary = page.locator("#records-summary")
    expect(summary).to_contain_text(re.compile(r"1–50 of 180 records · kr"))
    expect(page.locator("#records-table tbody tr")).to_have_count(50)

    page.locator("#page-next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(summary).to_contain_text("51–100 of 180 records")

    page.get_by_role("searchbox", name="Search").fill("9999")
    page.locator("#record-search-submit").click()
    expect(page).to_have_url(re.compile(r"q=9999"))
    expect(page.locator("#records-table tbody tr")).to_have_count(3)
    for record_id in data["failed"]:
        expect(page.locator(f"tr[data-record-id='{record_id}']")).to_be_visible()

    page.goto(admin_server.url + "/orgs/hlf?status=exported")
    page.get_by_role("link", name=re.compile("^Amount")).click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Amount")
    page.get_by_role("link", name=re.compile("^Amount")).click()
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Amount")
    amounts = page.locator("#records-table td.money").all_inner_texts()
    values = [float(a.replace("kr", "").replace("\u00a0", "").replace(",", ".")) for a in amounts]
    assert values == sorted(values, reverse=True)
    screenshot(page, "records-exported-by-amount")

    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 150  # every page of the list as filtered, not the 50 shown
    assert [float(r["amount"]) for r in rows] == sorted((float(r["amount"]) for r in rows), reverse=True)


def test_the_skipped_view_says_to_fix_the_record_in_the_app(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    data = daily_work_data(admin_server)
    page = open_as(pages, admin_server, KARI, "/orgs/hlf")
    page.locator(".filters a[data-view='skipped']").click()
    expect(page.locator("#skipped-guidance")).to_contain_text("Fix these in the volunteer app")
    expect(page.locator("#records-table tbody tr")).to_have_count(2)
    expect(page.locator(f"tr[data-record-id='{data['skipped'][0]}']")).to_contain_text("no employee number")
    screenshot(page, "records-skipped")


def test_retry_all_waits_while_a_sync_is_queued_elsewhere(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    daily_work_data(admin_server)
    page = open_as(pages, admin_server, KARI, "/orgs/hlf?status=failed")
    expect(page.locator("#retry-all")).to_be_enabled()
    from accsync_pipeline.store import claims as claim_store

    engine = admin_server.engine()
    with engine.begin() as conn:  # another screen, the CLI or a sensor claims the org for a sync
        claim_store.try_claim(conn, "hlf", "other-screen", None, datetime.now(UTC))
    engine.dispose()
    expect(page.locator("#sync-now")).to_be_disabled(timeout=WAIT_MS)
    expect(page.locator("#running-message")).to_contain_text("A sync is queued")
    expect(page.locator("#retry-all")).to_be_disabled()
    expect(page.locator("#retry-wait")).to_contain_text("Retrying is possible again when it has finished")
    screenshot(page, "status-queued-elsewhere")


def test_a_retry_says_at_once_that_it_is_starting_and_takes_no_second_click(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    """Launching the run can take seconds: the screen answers the click before the server does."""
    daily_work_data(admin_server)
    page = open_as(pages, admin_server, KARI, "/orgs/hlf?status=failed")
    held: list[Any] = []  # the retry request, kept unanswered until the test lets it go
    page.route("**/api/orgs/hlf/retry", lambda route: held.append(route))
    page.get_by_role("button", name="Retry all failed records (3)").click()
    expect(page.locator("#retry-status")).to_have_text("Starting a sync of the failed records…")
    expect(page.locator("#retry-all")).to_be_disabled()
    expect(page.locator("#retry-selected")).to_be_disabled()
    assert len(held) == 1
    held[0].fulfill(status=409, json={"detail": "A sync is already running"})
    expect(page.locator("#retry-status")).to_contain_text("A sync is queued or running")
    expect(page.locator("#retry-all")).to_be_enabled()


def test_a_runs_page_follows_it_from_click_to_ledger(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    daily_work_data(admin_server)
    page = open_as(pages, admin_server, KARI, "/orgs/hlf/runs/run-with-failures")
    expect(page.locator("#run-counts")).to_contain_text("3 failed")
    expect(page.locator("#run-money")).to_contain_text("failed")
    expect(page.locator("#run-starter")).to_have_text(re.compile(r"\w"))
    expect(page.locator("#run-csv")).to_have_attribute(
        "href", "/api/orgs/hlf/runs/run-with-failures/records.csv"
    )
    page.locator(".filters a", has_text="Failed").click()
    expect(page.locator("#run-records-table tbody tr")).to_have_count(3)
    expect(page.locator("#run-records-table")).to_contain_text("INVALID_VALUE")  # the ledger's own code
    screenshot(page, "run-page")


def test_a_global_admin_finds_the_failing_orgs_in_one_step(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    daily_work_data(admin_server)
    page = open_as(pages, admin_server, GLOBAL, "/orgs")
    expect(page.locator("#health-all")).to_contain_text("2")
    page.locator("#health-failing").click()
    expect(page).to_have_url(re.compile(r"health=failing"))
    expect(page.locator("#orgs-table tbody tr")).to_have_count(1)
    expect(page.locator("tr[data-org-id='hlf']")).to_be_visible()
    screenshot(page, "global-view-failing", docs=True)
    page.locator("tr[data-org-id='hlf'] td[data-label='Pending']").click()  # anywhere on the row
    expect(page).to_have_url(admin_server.url + "/orgs/hlf")


def test_alert_thresholds_are_saved_and_refused_like_the_api(
    admin_server: AdminServer, pages: Callable[..., Page]
) -> None:
    page = open_as(pages, admin_server, KARI, "/orgs/hlf/settings")
    field = page.locator("#alerts-consecutive_failures")
    field.fill("101")
    page.locator("#save-alerts").click()
    expect(page.locator("#alerts-consecutive_failures-error")).to_contain_text("1-100")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("5")
    page.locator("#auto-retry-base_seconds").fill("600")
    page.locator("#save-alerts").click()
    expect(page.locator("#alerts-status")).to_contain_text("Saved")
    page.reload()
    expect(page.locator("#alerts-consecutive_failures")).to_have_value("5")
    expect(page.locator("#auto-retry-base_seconds")).to_have_value("600")
    screenshot(page, "settings-alerts")


VIEWS = [
    ("status-records", KARI, "/orgs/hlf?status=failed"),
    ("records-skipped", KARI, "/orgs/hlf?status=skipped"),
    ("records-search", KARI, "/orgs/hlf?status=all&q=9999&sort=amount&dir=desc"),
    ("run-page", KARI, "/orgs/hlf/runs/run-with-failures"),
    ("record-page", KARI, None),
    ("history", KARI, "/orgs/hlf/history"),
    ("settings", KARI, "/orgs/hlf/settings"),
    ("global-view", GLOBAL, "/orgs"),
    ("notifications", KARI, "/notifications"),
]


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_every_view_fits_the_window_and_has_no_serious_accessibility_problems(
    admin_server: AdminServer, pages: Callable[..., Page], width_name: str
) -> None:
    data = daily_work_data(admin_server)
    width = WIDTHS[width_name]
    problems: dict[str, list[str]] = {}
    for name, user, path in VIEWS:
        target = path or f"/orgs/hlf/records/{data['failed'][0]}"
        page = open_as(pages, admin_server, user, target, width)
        expect(page.locator("main h1")).to_be_visible()
        # The header keeps Sign out on the screen, however narrow.
        sign_out = page.locator("#sign-out").bounding_box()
        assert sign_out is not None and sign_out["x"] + sign_out["width"] <= width
        no_sideways_scroll(page)
        screenshot(page, f"{name}-{width_name}", docs=(width_name == "desktop" and name == "run-page"))
        found = serious_axe_violations(pages, admin_server, user, target, width)
        if found:
            problems[name] = found
        page.context.close()
    assert problems == {}
