"""Status per org and the global summary: counts, last sync, health, running progress, next run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.reconcile import Finding, Reconciliation
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service.status import org_statuses
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import reconciliations as reconciliation_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline.web.auth import COOKIE_NAME
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import (
    CLOCK,
    UNREACHABLE_DYNAMICS,
    Api,
    Seeded,
    fail_records,
    json_of,
)


def finished_run(engine: Engine, run_id: str, org_id: str, at: datetime, exported: int, failed: int) -> None:
    with engine.begin() as conn:
        run_store.start_run(conn, run_id, org_id, "schedule", None, at - timedelta(minutes=1))
        run_store.add_to_total(conn, run_id, exported + failed)
        run_store.add_progress(conn, run_id, exported, 0, failed)
        run_store.finish_run(conn, run_id, "success", at)


def test_a_new_org_with_approved_records_is_not_red_on_its_first_day_with_pending_counted_before_intake(
    api: Api, seeded: Seeded
) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 4)
    status = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/status"))
    assert status["pending"] == 4 and status["failed"] == 0
    assert status["last_successful_sync_at"] is None and status["failed_in_last_sync"] is None
    assert status["health"] == {
        "level": "green",
        "reason": "No sync has run yet; 4 records are waiting for it.",
    }
    assert status["running"] is None
    assert status["next_run_at"] is None and status["schedule_description"].startswith("Manual only")
    # Reading wrote nothing: intake is the pipeline's job.
    with api.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(record_sync_state)).scalar_one() == 0


def test_amber_after_a_sync_with_failures_and_the_counts_of_now_and_the_last_sync(
    api: Api, seeded: Seeded
) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 5)
    fail_records(api.engine, "hlf", ids[:2], run_id="r1")
    with api.engine.begin() as conn:
        # The other three were exported by the same run.
        results = [record_store.RecordResult(i, "hlf", SyncStatus.EXPORTED, "X") for i in ids[2:]]
        record_store.write_results(conn, results, "r1", "schedule", NOW)
    finished_run(api.engine, "r1", "hlf", NOW, exported=3, failed=2)
    status = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/status"))
    assert (status["pending"], status["failed"], status["failed_in_last_sync"]) == (0, 2, 2)
    assert status["health"] == {"level": "amber", "reason": "The last sync had 2 records failed."}
    assert datetime.fromisoformat(status["last_successful_sync_at"]) == NOW


def test_green_with_running_progress_and_next_run_in_the_orgs_timezone(api: Api, seeded: Seeded) -> None:
    finished_run(api.engine, "r1", "other", NOW - timedelta(hours=2), exported=3, failed=0)
    with api.engine.begin() as conn:
        run_store.start_run(conn, "r2", "other", "manual", "other.admin", NOW)
        run_store.add_to_total(conn, "r2", 10)
        run_store.add_progress(conn, "r2", 4, 0, 0)
    status = json_of(api.client(seeded.other_admin).get("/api/orgs/other/status"))
    assert status["health"]["level"] == "green"
    assert status["running"] | {"started_at": None} == {
        "run_id": "r2",
        "status": "STARTED",
        "done": 4,
        "total": 10,
        "started_at": None,
    }
    # Daily at 02:00 in Oslo: the next is tomorrow 02:00 +01:00.
    assert status["next_run_at"] == (CLOCK.date() + timedelta(days=1)).isoformat() + "T02:00:00+01:00"
    assert status["schedule_description"].startswith("At 02:00")


def test_the_global_summary_counts_every_org(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 2)
    finished_run(api.engine, "r1", "other", NOW - timedelta(hours=1), exported=1, failed=0)
    body = json_of(api.client(seeded.global_admin).get("/api/orgs"))
    assert body["summary"] == {
        "orgs": 2,
        "green": 2,  # hlf was set up today: its pending records are not overdue yet
        "amber": 0,
        "red": 0,
        "running": 0,
        "pending": 2,
        "failed": 0,
    }


def test_the_org_list_is_paged_filtered_searched_and_sorted_with_totals_over_every_org(
    api: Api, seeded: Seeded
) -> None:
    finished_run(api.engine, "r1", "other", NOW - timedelta(hours=1), exported=1, failed=2)
    client = api.client(seeded.global_admin)

    def listed(query: str) -> tuple[list[str], dict[str, int]]:
        body = json_of(client.get(f"/api/orgs?{query}"))
        paging = {k: body[k] for k in ("matching", "page", "pages", "per_page")}
        assert body["summary"]["orgs"] == 2 and body["summary"]["amber"] == 1  # whatever the filter
        return [o["org_id"] for o in body["orgs"]], paging

    # Worst health first: the org whose last sync had failed records leads.
    assert listed("per_page=1") == (["other"], {"matching": 2, "page": 1, "pages": 2, "per_page": 1})
    assert listed("per_page=1&page=2")[0] == ["hlf"]
    assert listed("per_page=1&page=9")[0] == ["hlf"]  # past the end: the last page
    assert listed("health=failing")[0] == ["other"]
    assert listed("health=green")[0] == ["hlf"]
    assert listed("q=HL")[0] == ["hlf"]
    assert listed("sort=name&dir=desc")[0] == ["other", "hlf"]
    assert listed("sort=failed")[0] == ["hlf", "other"]
    assert client.get("/api/orgs?per_page=0").status_code == 422
    # An org's administrator sees only their own org, in the same shape.
    own = json_of(api.client(seeded.hlf_admin).get("/api/orgs?health=all"))
    assert [o["org_id"] for o in own["orgs"]] == ["hlf"] and own["summary"]["orgs"] == 1


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_summary_takes_the_same_few_queries_for_any_number_of_orgs(api: Api, seeded: Seeded) -> None:
    def add_orgs(first: int, count: int) -> None:
        with api.engine.begin() as conn:
            for i in range(first, first + count):
                org = OrgConfig(f"org_{i:04d}", f"Org {i}", "dynamics", UNREACHABLE_DYNAMICS)
                org_store.insert_org(conn, org, NOW)
                add_sources(conn, org.org_id, 2, prefix=f"O{i:04d}-")
        finished_run(api.engine, f"run-{first}", f"org_{first:04d}", NOW, 1, 1)

    add_orgs(0, 3)
    with api.engine.connect() as conn, counted_statements(api.engine) as few:
        assert len(org_statuses(conn, CLOCK)) == 5
    add_orgs(3, 60)
    with api.engine.connect() as conn, counted_statements(api.engine) as many:
        rows = org_statuses(conn, CLOCK)
    # The grouped health reads plus the awaiting-intake backlog's change check (the statements that
    # let a later call reuse its rows); the figure must not grow with the orgs.
    assert len(rows) == 65 and len(many) == len(few) <= 12
    assert {r.pending for r in rows if r.org_id.startswith("org_")} == {2}


def test_the_latest_ledger_reconciliation_in_the_status_api_and_on_the_status_screen(
    api: Api, seeded: Seeded
) -> None:
    client = api.client(seeded.hlf_admin)
    assert json_of(client.get("/api/orgs/hlf/status"))["reconciliation"] is None
    with api.engine.begin() as conn:
        reconciliation_store.save(
            conn, "hlf", NOW - timedelta(days=1), "schedule", None, Reconciliation(expected=3, held=3)
        )
        findings = (
            Finding("duplicated", "accsync-hlf-R2", "R2", 2, "posted 2 times"),
            Finding("missing", "accsync-hlf-R1", "R1", 0, "marked exported, not in the ledger"),
        )
        reconciliation_store.save(
            conn, "hlf", NOW, "manual", None, Reconciliation(expected=3, held=2, findings=findings)
        )

    found = json_of(client.get("/api/orgs/hlf/status"))["reconciliation"]

    assert datetime.fromisoformat(found["checked_at"]) == NOW
    assert (found["state"], found["ok"], found["discrepancies"], found["trigger"]) == (
        "discrepancies",
        False,
        2,
        "manual",
    )
    assert (found["missing"], found["duplicated"], found["unknown"]) == (1, 1, 0)
    assert found["summary"] == "1 missing from the ledger, 1 posted more than once"
    assert [(f["kind"], f["record_id"]) for f in found["findings"]] == [
        ("duplicated", "R2"),
        ("missing", "R1"),
    ]
    assert found["records_link"] == "/orgs/hlf?status=all&records=R1,R2"
    listed = json_of(api.client(seeded.global_admin).get("/api/orgs"))["orgs"]
    assert {o["org_id"]: o["reconciliation"] is not None for o in listed} == {"hlf": True, "other": False}

    screen = TestClient(api.app, cookies={COOKIE_NAME: api.token(seeded.hlf_admin)})
    html = screen.get("/orgs/hlf/fragments/status").text
    assert 'id="reconciliation" data-state="discrepancies"' in html
    assert "2 discrepancies" in html and "1 missing from the ledger, 1 posted more than once" in html
    assert 'href="/orgs/hlf?status=all&amp;records=R1,R2#records"' in html
    assert 'href="/orgs/hlf/records/R1"' in html


def test_a_clean_reconciliation_and_an_unreadable_ledger_on_the_status_screen(
    api: Api, seeded: Seeded
) -> None:
    screen = TestClient(api.app, cookies={COOKIE_NAME: api.token(seeded.hlf_admin)})
    assert "Not yet checked" in screen.get("/orgs/hlf/fragments/status").text
    with api.engine.begin() as conn:
        reconciliation_store.save(conn, "hlf", NOW, "schedule", None, Reconciliation(expected=7, held=7))
    html = screen.get("/orgs/hlf/fragments/status").text
    assert 'data-state="ok"' in html and "Reconciles" in html
    assert "all 7 exported records found in the ledger exactly once" in html
    with api.engine.begin() as conn:
        reconciliation_store.save(conn, "hlf", NOW + timedelta(minutes=1), "manual", None, None, "timed out")
    found = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/status"))["reconciliation"]
    assert (found["state"], found["ok"], found["error"]) == ("unreadable", False, "timed out")
    assert "Could not read the ledger" in screen.get("/orgs/hlf/fragments/status").text
