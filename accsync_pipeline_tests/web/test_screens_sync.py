"""Sync Now, runs started elsewhere, and retries, in headless Chromium against real Dagster runs.

The admin service, dagster-webserver and dagster-daemon share one database; syncs post into
the Business Central sandbox. Each test has its own org.
"""

# The fixtures are imported by name, so each test parameter "redefines" one.
# ruff: noqa: F811

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from accsync_pipeline.domain.org import User
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.dagster_fixtures import DagsterStack, dagster_stack  # noqa: F401
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    dynamics_sandbox,
    dynamics_settings,
    sandbox_secrets,
)
from accsync_pipeline_tests.web.browser_fixtures import (  # noqa: F401
    AdminServer,
    browser,
    fail_records,
    mark_page,
    new_page,
    not_reloaded,
    screenshot,
    serve,
    service_environment,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NewPage = Callable[[], Page]
RUN_MS = 120_000  # a Dagster run: queue, a worker process, the export
LAUNCH_MS = 30_000  # the webserver asked to launch a run, answering when it is queued


@pytest.fixture
def stack_server(
    browser: object,  # skips before Dagster starts when there is no browser
    dagster_stack: DagsterStack,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AdminServer]:
    service_environment(monkeypatch, dagster_stack.database_url, dagster_stack.url)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_stack.home))
    yield from serve(dagster_stack.database_url)


def add_org(
    server: AdminServer, org_id: str, sandbox: RunningSandbox, records: int, **settings: object
) -> User:
    engine = server.engine()
    with engine.begin() as conn:
        admin = add_org_with_admin(
            conn, sandbox_org(org_id, "dynamics", dynamics_settings(sandbox, **settings))
        )
        add_sources(conn, org_id, records, prefix=f"{org_id[:3].upper()}-", approved_at=datetime.now(UTC))
    engine.dispose()
    return admin


def statuses(server: AdminServer, org_id: str) -> dict[str, str]:
    engine = server.engine()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(record_sync_state.c.record_id, record_sync_state.c.status).where(
                record_sync_state.c.org_id == org_id
            )
        )
        found = {r[0]: r[1] for r in rows}
    engine.dispose()
    return found


def test_sync_now_confirms_the_count_and_the_screen_follows_the_run(
    stack_server: AdminServer, dynamics_sandbox: RunningSandbox, new_page: NewPage
) -> None:
    admin = add_org(stack_server, "syncnow", dynamics_sandbox, 25)
    page = new_page()
    sign_in(page, stack_server, admin)
    page.goto(stack_server.url + "/orgs/syncnow")
    expect(page.locator("#pending-count")).to_have_text("25")
    expect(page.locator("#last-sync")).to_have_text("never")
    mark_page(page)

    page.get_by_role("button", name="Sync now").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#sync-dialog-text")).to_have_text(
        re.compile(
            r"25 records will be synced to Dynamics 365 Business Central \(25 reimbursements\), "
            r"kr.[0-9].*,[0-9]{2} in all\."
        )
    )
    screenshot(page, "sync-now-confirmation", docs=True)
    dialog.get_by_role("button", name="Sync 25 records").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#sync-now")).to_be_disabled()

    expect(page.locator("#pending-count")).to_have_text("0", timeout=RUN_MS)
    expect(page.locator("#last-sync")).not_to_have_text("never")
    expect(page.locator("#sync-now")).to_be_enabled()
    expect(page.locator("#health")).to_have_attribute("data-level", "green")
    assert not_reloaded(page)
    assert set(statuses(stack_server, "syncnow").values()) == {"exported"}

    page.get_by_role("link", name="Sync history").click()
    run = page.locator("#runs-table tbody tr")
    expect(run).to_have_count(1)
    expect(run).to_contain_text("Sync Now")
    expect(run).to_contain_text("syncnow admin")
    expect(run.locator("td.num")).to_have_text("25")
    expect(page.locator("#history-chart desc")).to_have_text(
        re.compile(r"^25 records exported and 0 failed in the last 14 days\.$")
    )
    screenshot(page, "sync-history", docs=True)


def test_a_sync_started_elsewhere_disables_sync_now_until_it_ends(
    stack_server: AdminServer, dynamics_sandbox: RunningSandbox, new_page: NewPage
) -> None:
    admin = add_org(stack_server, "elsewhere", dynamics_sandbox, 150, max_concurrency=1)
    dynamics_sandbox.set_faults(latency_ms=1500)  # slow enough to watch it run
    dagster = DagsterGraphQL(stack_server_dagster_url(stack_server))
    try:
        dagster.launch_sync(SyncRequest("elsewhere", "schedule"))
    finally:
        dagster.close()

    page = new_page()
    sign_in(page, stack_server, admin)
    page.goto(stack_server.url + "/orgs/elsewhere")
    mark_page(page)
    expect(page.locator("#sync-now")).to_be_disabled()
    # Queued first (the claim is seen at once), then running once Dagster starts it.
    expect(page.locator("#running-message")).to_contain_text(re.compile("A sync is (queued|already running)"))
    expect(page.locator("#running-message")).to_contain_text("A sync is already running", timeout=RUN_MS)
    expect(page.locator("#running-message")).to_contain_text("(started by the schedule)", timeout=RUN_MS)
    expect(page.locator("#sync-progress")).to_have_attribute("max", "150")
    screenshot(page, "sync-running", docs=True)
    refused = page.request.post(
        stack_server.url + "/api/orgs/elsewhere/sync", headers={"X-Accsync-CSRF": "1"}
    )
    assert refused.status == 409

    dynamics_sandbox.set_faults(latency_ms=0)
    expect(page.locator("#pending-count")).to_have_text("0", timeout=RUN_MS)
    expect(page.locator("#sync-now")).to_be_enabled()
    expect(page.locator("#running-message")).to_have_count(0)
    assert not_reloaded(page)


def stack_server_dagster_url(server: AdminServer) -> str:
    import os

    return os.environ["ACCSYNC_DAGSTER_URL"]


def test_retry_selected_sends_only_those_and_retry_all_the_rest(
    stack_server: AdminServer, dynamics_sandbox: RunningSandbox, new_page: NewPage
) -> None:
    admin = add_org(stack_server, "retry", dynamics_sandbox, 6)
    ids = [f"RET-{i:05d}" for i in range(6)]
    engine = stack_server.engine()
    with engine.begin() as conn:
        fail_records(conn, "retry", ids, "Business Central was busy (429)", datetime.now(UTC), "earlier-run")
    engine.dispose()

    page = new_page()
    sign_in(page, stack_server, admin)
    page.goto(stack_server.url + "/orgs/retry?status=failed")
    expect(page.locator("#failed-count")).to_have_text("6")
    expect(page.locator("#records-table tbody tr")).to_have_count(6)
    page.get_by_label(f"Select record {ids[1]}").check()
    page.get_by_label(f"Select record {ids[4]}").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    screenshot(page, "failed-records-selected", docs=True)
    page.get_by_role("button", name="Retry selected (2)").click()
    expect(page.locator("#retry-status")).to_have_text("2 records will be sent again now.", timeout=LAUNCH_MS)
    expect(page.locator("#pending-count")).to_have_text("0", timeout=RUN_MS)

    expect(page.locator("#sync-now")).to_be_enabled(timeout=RUN_MS)
    expect(page.locator("#failed-count")).to_have_text("4")
    expect(page.locator("#records-table tbody tr")).to_have_count(4)
    after_selected = statuses(stack_server, "retry")
    assert {r for r, s in after_selected.items() if s == "exported"} == {ids[1], ids[4]}
    assert {r for r, s in after_selected.items() if s == "failed"} == {ids[0], ids[2], ids[3], ids[5]}

    page.get_by_role("button", name="Retry all failed records (4)").click()
    expect(page.locator("#retry-status")).to_have_text("4 records will be sent again now.", timeout=LAUNCH_MS)
    expect(page.locator("#failed-count")).to_have_text("0")
    expect(page.locator("#pending-count")).to_have_text("0", timeout=RUN_MS)
    expect(page.locator("#sync-now")).to_be_enabled(timeout=RUN_MS)
    expect(page.locator("#no-records")).to_be_visible()
    assert set(statuses(stack_server, "retry").values()) == {"exported"}

    page.goto(stack_server.url + f"/orgs/retry/records/{ids[1]}")
    attempts = page.locator("#attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.first).to_contain_text("Retry")
    expect(attempts.first).to_contain_text("Sent")
    expect(attempts.nth(1)).to_contain_text("Business Central was busy (429)")
    expect(page.locator("#retry-count")).to_have_text("2")
