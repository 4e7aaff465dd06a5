"""A run's page (money, starter, Dagster link), cancelling a run, a retried record marked succeeded."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service.launch import DagsterRunInfo
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.web.api.runs import get_terminator
from accsync_pipeline.web.auth import COOKIE_NAME
from accsync_pipeline_tests.factories import NOW, add_source
from accsync_pipeline_tests.web.conftest import Api, Seeded, fail_records, json_of


@dataclass
class FakeTerminator:
    terminated: list[str] = field(default_factory=list)

    def terminate_run(self, run_id: str) -> str:
        self.terminated.append(run_id)
        return "CANCELING"

    def close(self) -> None:
        pass


@pytest.fixture
def terminator(api: Api) -> FakeTerminator:
    fake = FakeTerminator()
    api.app.dependency_overrides[get_terminator] = lambda: fake
    return fake


def html(api: Api, user: object, path: str) -> str:
    client = api.client()
    client.cookies.set(COOKIE_NAME, api.token(user))  # type: ignore[arg-type]
    response = client.get(path)
    assert response.status_code == 200, response.text
    return str(response.text)


def run_with_money(api: Api) -> None:
    with api.engine.begin() as conn:
        add_source(conn, "R1", amount=Decimal("1000.10"))
        add_source(conn, "R2", amount=Decimal("234.40"))
        add_source(conn, "R3", amount=Decimal("99.99"))
        record_store.intake(conn, "hlf", NOW)
        run_store.start_run(conn, "run-1", "hlf", "manual", "hlf.admin", NOW)
        record_store.write_results(
            conn,
            [
                record_store.RecordResult("R1", "hlf", SyncStatus.EXPORTED, external_id="X1"),
                record_store.RecordResult("R2", "hlf", SyncStatus.EXPORTED, external_id="X2"),
                record_store.RecordResult(
                    "R3", "hlf", SyncStatus.FAILED, error="account closed", error_code="E42"
                ),
            ],
            "run-1",
            "manual",
            NOW,
        )
        run_store.add_progress(conn, "run-1", 2, 0, 1)
        run_store.finish_run(conn, "run-1", "success", NOW)


def test_the_run_page_says_who_started_it_what_it_sent_and_how_much(api: Api, seeded: Seeded) -> None:
    run_with_money(api)
    page = html(api, seeded.hlf_admin, "/orgs/hlf/runs/run-1")
    assert "Sync Now by hlf admin" in page
    assert "kr\u00a01\u00a0234,50 sent to" in page  # 1000.10 + 234.40, exact
    assert "kr\u00a099,99 failed" in page
    assert "2 exported · 0 skipped · 1 failed" in page
    assert 'href="/api/orgs/hlf/runs/run-1/records.csv"' in page
    assert "account closed" in page and "E42" in page
    failed_only = html(api, seeded.hlf_admin, "/orgs/hlf/runs/run-1?outcome=failed")
    assert "R3" in failed_only and 'data-record-id="R1"' not in failed_only
    client = api.client()
    client.cookies.set(COOKIE_NAME, api.token(seeded.other_admin))
    assert client.get("/orgs/hlf/runs/run-1").status_code == 404


def test_a_record_retried_successfully_is_marked_succeeded_with_the_retry_run(
    api: Api, seeded: Seeded
) -> None:
    with api.engine.begin() as conn:
        add_source(conn, "R1")
    fail_records(api.engine, "hlf", ["R1"], run_id="run-failed", error="timeout")
    with api.engine.begin() as conn:
        record_store.write_results(
            conn,
            [record_store.RecordResult("R1", "hlf", SyncStatus.EXPORTED, external_id="X1")],
            "run-retry-1",
            "retry",
            NOW,
        )
    page = html(api, seeded.hlf_admin, "/orgs/hlf/records/R1")
    assert "Succeeded on retry" in page and "Sent successfully later." not in page
    assert 'href="/orgs/hlf/runs/run-retry-1"' in page and "retry run run-retr" in page


def test_cancel_terminates_the_orgs_active_run_through_dagster(
    api: Api, seeded: Seeded, terminator: FakeTerminator
) -> None:
    api.launcher.runs["run-live"] = DagsterRunInfo("run-live", "STARTED", "hlf")
    api.launcher.runs["run-done"] = DagsterRunInfo("run-done", "SUCCESS", "hlf")
    client = api.client(seeded.hlf_admin)
    assert json_of(client.post("/api/orgs/hlf/runs/run-live/cancel")) == {
        "run_id": "run-live",
        "status": "CANCELING",
    }
    assert client.post("/api/orgs/hlf/runs/run-done/cancel").status_code == 409
    assert client.post("/api/orgs/hlf/runs/nope/cancel").status_code == 404
    assert api.client(seeded.other_admin).post("/api/orgs/other/runs/run-live/cancel").status_code == 404
    assert terminator.terminated == ["run-live"]


def test_the_global_view_totals_by_health_filters_failing_searches_and_pages(
    api: Api, seeded: Seeded
) -> None:
    fail_records(api.engine, "hlf", [])
    with api.engine.begin() as conn:
        add_source(conn, "R1")
    fail_records(api.engine, "hlf", ["R1"], error="refused")
    page = html(api, seeded.global_admin, "/orgs?health=failing")
    assert 'data-org-id="hlf"' in page and 'data-org-id="other"' not in page
    assert 'id="health-all"' in page and "All <strong>2</strong>" in page
    assert "Failing only <strong>1</strong>" in page
    found = html(api, seeded.global_admin, "/orgs?q=oth")
    assert 'data-org-id="other"' in found and 'data-org-id="hlf"' not in found
    by_name = html(api, seeded.global_admin, "/orgs?sort=name&dir=desc")
    assert by_name.index('data-org-id="other"') < by_name.index('data-org-id="hlf"')


def test_the_settings_screen_offers_alert_thresholds_and_auto_retries_with_the_apis_bounds(
    api: Api, seeded: Seeded
) -> None:
    page = html(api, seeded.hlf_admin, "/orgs/hlf/settings")
    assert 'id="alerts-consecutive_failures"' in page and 'max="100"' in page
    assert 'id="auto-retry-max_seconds"' in page and "(optional) <span" not in page
    assert "`" not in page
    # The screen saves through the API, whose model refuses what the screen's fields could send wrongly.
    client = api.client(seeded.hlf_admin)
    bad = client.put("/api/orgs/hlf/settings", json={"alerts": {"consecutive_failures": "abc"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "consecutive_failures"
    too_big = client.put("/api/orgs/hlf/settings", json={"alerts": {"consecutive_failures": 101}})
    assert too_big.status_code == 422 and too_big.json()["detail"][0]["loc"] == [
        "body",
        "alerts",
        "consecutive_failures",
    ]
