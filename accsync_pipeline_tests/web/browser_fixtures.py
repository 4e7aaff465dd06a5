"""Headless Chromium driving the real admin service, and the data the screens are shown with.

    from accsync_pipeline_tests.web.browser_fixtures import browser, admin_server, ...  # noqa: F401

Without Chromium at /usr/bin/chromium the browser tests skip, saying so; with
ACCSYNC_REQUIRE_BROWSER=1 (CI) they fail instead. Each screen's screenshot is saved under
`test-artifacts/screens/`; with ACCSYNC_DOCS_SCREENSHOTS=1 the README's are refreshed too.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
import uvicorn

from accsync_pipeline.domain.org import User
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service import demo
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline.web.app import create_app
from accsync_pipeline.web.auth import COOKIE_NAME, issue_token

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Debian's Chromium; ACCSYNC_CHROMIUM points elsewhere (or at nothing, to see the skip).
CHROMIUM = Path(os.environ.get("ACCSYNC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "screens"
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
JWT_SECRET = "browser-tests-secret-0123456789abcdef"
# Nothing listens here: without a Dagster stack, the screens must cope with Dagster being away.
NO_DAGSTER_URL = "http://127.0.0.1:9"
WAIT_MS = 15_000


def _browser_problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    problem = _browser_problem()
    if problem:
        if os.environ.get("ACCSYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ACCSYNC_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(f"browser tests need headless Chromium: {problem}")


# Module scope: every test module that imports this fixture gets its own copy of it, and two
# Playwright drivers must never run in one thread at once; one per module, stopped at its end.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AdminServer:
    url: str
    database_url: str

    def engine(self) -> sa.Engine:
        return create_engine(self.database_url)


def serve(database_url: str) -> Iterator[AdminServer]:
    """The admin service under uvicorn on a free loopback port, in a thread of this process."""
    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="admin-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the admin service did not start")
        time.sleep(0.05)
    try:
        yield AdminServer(f"http://127.0.0.1:{port}", database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def service_environment(monkeypatch: pytest.MonkeyPatch, database_url: str, dagster_url: str) -> None:
    monkeypatch.setenv("ACCSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("ACCSYNC_DEV_LOGIN", "1")
    monkeypatch.setenv("ACCSYNC_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", dagster_url)


@pytest.fixture
def admin_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Browser) -> Iterator[AdminServer]:
    """A fresh database with the demo orgs and users, and the admin service on it (no Dagster)."""
    database_url = f"sqlite:///{tmp_path}/accsync.db"
    service_environment(monkeypatch, database_url, NO_DAGSTER_URL)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    (tmp_path / "dagster-home").mkdir()
    engine = create_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        demo.seed(conn, now=datetime.now(UTC))
    engine.dispose()
    yield from serve(database_url)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in their own browser contexts (own cookies); all closed after the test."""
    contexts: list[Any] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, server: AdminServer, user: User) -> None:
    """Give the page the cookie the app would set for `user` (same signing key as the service)."""
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": issue_token(user), "url": server.url, "httpOnly": True}]
    )


def screenshot(page: Page, name: str, docs: bool = False) -> Path:
    """Save the page as a test artifact (and, when asked, as a README screenshot)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("ACCSYNC_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # The visible window from the top only: long record lists would make the README's images huge.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"))
    return path


def mark_page(page: Page) -> None:
    """Leave a mark in the page's JavaScript state: if it is still there later, the page never reloaded."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


DEMO = {u.user_id: u for u in demo.DEMO_USERS}
KARI, OLE, GLOBAL = DEMO["kari.admin"], DEMO["ole.admin"], DEMO["global.admin"]


def fail_records(
    conn: sa.Connection, org_id: str, record_ids: list[str], error: str, now: datetime, run_id: str
) -> None:
    """Record a finished sync of `org_id` in which `record_ids` were refused with `error`."""
    record_store.intake(conn, org_id, now)
    run_store.start_run(conn, run_id, org_id, "schedule", None, now - timedelta(minutes=2))
    results = [
        record_store.RecordResult(rid, org_id, SyncStatus.FAILED, error=error, error_code="INVALID_VALUE")
        for rid in record_ids
    ]
    record_store.write_results(conn, results, run_id, "schedule", now - timedelta(minutes=1))
    run_store.add_progress(conn, run_id, 0, 0, len(record_ids))
    run_store.finish_run(conn, run_id, "success", now - timedelta(minutes=1))


def export_records(
    conn: sa.Connection, org_id: str, record_ids: list[str], now: datetime, run_id: str
) -> None:
    """Record a finished sync of `org_id` that exported `record_ids`."""
    record_store.intake(conn, org_id, now)
    run_store.start_run(conn, run_id, org_id, "schedule", None, now - timedelta(seconds=30))
    results = [
        record_store.RecordResult(rid, org_id, SyncStatus.EXPORTED, external_id=f"X-{rid}")
        for rid in record_ids
    ]
    record_store.write_results(conn, results, run_id, "schedule", now)
    run_store.add_progress(conn, run_id, len(record_ids), 0, 0)
    run_store.finish_run(conn, run_id, "success", now)


def hlf_ids(conn: sa.Connection) -> list[str]:
    from accsync_pipeline.store.schema import approved_records

    query = sa.select(approved_records.c.record_id).where(approved_records.c.org_id == "hlf")
    return [r[0] for r in conn.execute(query.order_by(approved_records.c.record_id))]


def notify(conn: sa.Connection, user: User, content: NotificationContent, now: datetime) -> None:
    notification_store.insert_for(conn, [user.user_id], content, now)
