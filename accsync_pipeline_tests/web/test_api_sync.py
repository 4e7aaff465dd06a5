"""Sync Now: the preview, launching (and refusing), run progress, and the sync log with its per-day counts."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.sync_now import DagsterRunInfo
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import approved_records, record_sync_state
from accsync_pipeline.web import deps
from accsync_pipeline_tests.defs.conftest import dagster_instance  # noqa: F401
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    dynamics_sandbox,
    dynamics_settings,
    sandbox_secrets,
)
from accsync_pipeline_tests.web.conftest import Api, Seeded, fail_records, json_of


def test_the_preview_counts_what_a_sync_would_send_without_writing(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 6)
        add_sources(conn, "hlf", 2, prefix="H", record_type="honorarium")
    # Two failed: one due for its automatic retry, one not yet.
    fail_records(api.engine, "hlf", ids[:1], next_attempt_in=timedelta(minutes=1))
    fail_records(api.engine, "hlf", ids[1:2], next_attempt_in=timedelta(hours=3))
    # One failed record edited by the app since: intake would reopen it.
    with api.engine.begin() as conn:
        conn.execute(
            approved_records.update()
            .where(approved_records.c.record_id == ids[1])
            .values(updated_at=NOW + timedelta(minutes=2))
        )
        before = conn.execute(sa.select(record_sync_state)).all()
    body = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/sync/preview"))
    assert body == {
        "org_id": "hlf",
        "enabled": True,
        "total": 8,
        "by_type": {"reimbursement": 6, "honorarium": 2},
        # 8 records of kr 1 234,50, summed exactly: the confirmation says how much money goes.
        "amounts": {"NOK": "9876.00"},
        "amount_text": "kr\u00a09\u00a0876,00",
    }
    with api.engine.connect() as conn:
        assert conn.execute(sa.select(record_sync_state)).all() == before


def test_the_preview_counts_only_record_types_the_org_syncs(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 3)
        add_sources(conn, "hlf", 2, prefix="H", record_type="honorarium")
        org = org_store.get_org(conn, "hlf")
        org_store.update_org(conn, org.__class__(**{**org.__dict__, "record_types": ("honorarium",)}))
    body = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/sync/preview"))
    assert (body["total"], body["by_type"]) == (2, {"honorarium": 2})


def test_sync_now_launches_a_manual_run_tagged_with_the_user(api: Api, seeded: Seeded) -> None:
    response = api.client(seeded.hlf_admin).post("/api/orgs/hlf/sync")
    assert response.status_code == 202
    [request] = api.launcher.launched
    assert request == SyncRequest("hlf", Trigger.MANUAL.value, "hlf.admin")
    assert response.json() == {"run_id": "run-0001"}


def test_a_second_trigger_is_refused_while_a_sync_is_queued_or_running(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    assert client.post("/api/orgs/hlf/sync").status_code == 202
    second = client.post("/api/orgs/hlf/sync")
    assert second.status_code == 409
    assert "already queued or running" in second.json()["detail"] and "run-0001" in second.json()["detail"]
    # Whatever started it: a run launched elsewhere (a schedule, the Dagster UI) blocks as well.
    api.launcher.active["other"] = "scheduled-run"
    third = api.client(seeded.other_admin).post("/api/orgs/other/sync")
    assert third.status_code == 409 and "scheduled-run" in third.json()["detail"]
    assert len(api.launcher.launched) == 1


def test_a_disabled_org_cannot_be_synced(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    json_of(client.patch("/api/orgs/hlf/integration", json={"enabled": False}))
    assert json_of(client.get("/api/orgs/hlf/sync/preview"))["enabled"] is False
    response = client.post("/api/orgs/hlf/sync")
    assert response.status_code == 409 and "disabled" in response.json()["detail"]
    assert api.launcher.launched == []


def test_dagster_being_down_is_a_503_with_the_reason(api: Api, seeded: Seeded) -> None:
    api.launcher.unavailable = True
    response = api.client(seeded.hlf_admin).post("/api/orgs/hlf/sync")
    assert response.status_code == 503 and "cannot reach Dagster" in response.json()["detail"]


def test_run_progress_takes_counts_from_the_summary_and_the_outcome_from_dagster(
    api: Api, seeded: Seeded
) -> None:
    client = api.client(seeded.hlf_admin)
    run_id = json_of(client.post("/api/orgs/hlf/sync"))["run_id"]
    queued = json_of(client.get(f"/api/orgs/hlf/runs/{run_id}"))
    assert (queued["status"], queued["done"], queued["total"]) == ("QUEUED", 0, 0)
    with api.engine.begin() as conn:
        run_store.start_run(conn, run_id, "hlf", "manual", "hlf.admin", NOW)
        run_store.add_to_total(conn, run_id, 50)
        run_store.add_progress(conn, run_id, 20, 1, 2)
    api.launcher.runs[run_id] = DagsterRunInfo(run_id, "STARTED", "hlf")
    body = json_of(client.get(f"/api/orgs/hlf/runs/{run_id}"))
    assert {k: body[k] for k in ("status", "done", "total", "exported", "skipped", "failed")} == {
        "status": "STARTED",
        "done": 23,
        "total": 50,
        "exported": 20,
        "skipped": 1,
        "failed": 2,
    }
    # Another org's run, or an unknown one, is not found.
    api.launcher.runs["theirs"] = DagsterRunInfo("theirs", "STARTED", "other")
    assert client.get("/api/orgs/hlf/runs/theirs").status_code == 404
    assert client.get("/api/orgs/hlf/runs/unknown").status_code == 404


def test_history_lists_runs_from_dagster_with_counts_reasons_and_days(
    api: Api,
    seeded: Seeded,
    dagster_instance: dg.DagsterInstance,  # noqa: F811
    dynamics_sandbox: object,  # noqa: F811
) -> None:
    settings = dynamics_settings(dynamics_sandbox)  # type: ignore[arg-type]
    with api.engine.begin() as conn:
        org = org_store.get_org(conn, "hlf")
        org_store.update_org(conn, org.__class__(**{**org.__dict__, "connector_settings": settings}))
        add_sources(conn, "hlf", 4)
        add_sources(conn, "hlf", 1, prefix="S", employee_number=None)
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("hlf", "manual", "hlf.admin"))
    assert success
    api.app.dependency_overrides[deps.get_dagster_instance] = lambda: dagster_instance
    body = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/history", params={"limit": 10}))
    [run] = body["runs"]
    assert run["run_id"] == run_id and run["status"] == "SUCCESS"
    assert (run["trigger"], run["user_id"], run["exported"], run["skipped"], run["failed"]) == (
        "manual",
        "hlf.admin",
        4,
        1,
        0,
    )
    assert [r["record_id"] for r in run["skipped_records"]] == ["S00000"]
    assert len(body["per_day"]) == 1 and body["per_day"][0] | {"date": None} == {
        "date": None,
        "exported": 4,
        "failed": 0,
    }
