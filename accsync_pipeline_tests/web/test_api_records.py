"""Failed and pending records with their details and error history; Retry Selected and Retry All."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from accsync_pipeline.domain.records import SyncStatus, Trigger
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import CLOCK, Api, Seeded, fail_records, json_of


def state(api: Api, record_id: str) -> sa.Row[tuple[str, datetime | None, int]]:
    with api.engine.connect() as conn:
        return conn.execute(
            sa.select(
                record_sync_state.c.status,
                record_sync_state.c.next_attempt_at,
                record_sync_state.c.attempt_count,
            ).where(record_sync_state.c.record_id == record_id)
        ).one()


def test_failed_records_come_with_details_errors_retry_count_and_next_attempt(
    api: Api, seeded: Seeded
) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 3)
    fail_records(api.engine, "hlf", ids[:1], run_id="r1", error="first error")
    fail_records(api.engine, "hlf", ids[:1], run_id="r2", error="second error", at=NOW + timedelta(minutes=1))
    body = json_of(api.client(seeded.hlf_admin).get("/api/orgs/hlf/records", params={"status": "failed"}))
    assert body["total"] == 1
    [record] = body["records"]
    assert {
        k: record[k] for k in ("record_id", "record_type", "status", "person_name", "amount", "currency")
    } == {
        "record_id": ids[0],
        "record_type": "reimbursement",
        "status": "failed",
        "person_name": "Kari Nordmann",
        "amount": "1234.50",
        "currency": "NOK",
    }
    assert record["description"] == "Reise" and record["expense_date"] == NOW.date().isoformat()
    assert (record["last_error"], record["retry_count"], record["consecutive_failures"]) == (
        "second error",
        2,
        2,
    )
    assert datetime.fromisoformat(record["next_attempt_at"]) == NOW + timedelta(minutes=1, hours=1)
    assert [e["error"] for e in record["errors"]] == ["second error", "first error"]
    assert [e["run_id"] for e in record["errors"]] == ["r2", "r1"]


def test_pending_and_id_filters_serve_the_alert_deep_links(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 4)
    fail_records(api.engine, "hlf", ids[:2])
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 1, prefix="N")  # approved after the last intake
    client = api.client(seeded.hlf_admin)
    pending = json_of(client.get("/api/orgs/hlf/records", params={"status": "pending"}))
    assert [r["record_id"] for r in pending["records"]] == ["N00000", *ids[2:]]
    assert {r["status"] for r in pending["records"]} == {"pending"}
    linked = json_of(
        client.get("/api/orgs/hlf/records", params={"status": "failed", "records": f"{ids[1]},{ids[3]}"})
    )
    assert [r["record_id"] for r in linked["records"]] == [ids[1]]
    by_id = json_of(client.get("/api/orgs/hlf/records", params={"records": f"{ids[1]},{ids[3]},nope"}))
    assert [(r["record_id"], r["status"]) for r in by_id["records"]] == [
        (ids[1], "failed"),
        (ids[3], "pending"),
    ]
    assert client.get("/api/orgs/hlf/records", params={"status": "bogus"}).status_code == 422


def test_a_records_history_shows_the_retry_run_that_resolved_its_failures(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        [rid] = add_sources(conn, "hlf", 1)
    fail_records(api.engine, "hlf", [rid], run_id="r1")
    with api.engine.begin() as conn:
        ok = record_store.RecordResult(rid, "hlf", SyncStatus.EXPORTED, external_id="GL-1")
        record_store.write_results(conn, [ok], "retry-run", "retry", NOW + timedelta(minutes=3))
    client = api.client(seeded.hlf_admin)
    history = json_of(client.get(f"/api/orgs/hlf/records/{rid}/history"))
    assert [(a["run_id"], a["outcome"], a["resolved_by_run_id"]) for a in history] == [
        ("retry-run", "exported", None),
        ("r1", "failed", "retry-run"),
    ]
    assert client.get("/api/orgs/hlf/records/nope/history").status_code == 404
    assert json_of(client.get("/api/orgs/hlf/records", params={"status": "failed"}))["total"] == 0


def test_retry_selected_releases_only_those_and_launches_one_run_for_them(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 4)
    fail_records(api.engine, "hlf", ids[:3], next_attempt_in=timedelta(hours=6))
    response = api.client(seeded.hlf_admin).post(
        "/api/orgs/hlf/retry", json={"record_ids": [ids[0], ids[2], ids[3]]}
    )
    assert response.status_code == 202
    # ids[3] was never failed: it is not part of the retry.
    assert response.json() == {"run_id": "run-0001", "record_ids": [ids[0], ids[2]]}
    [request] = api.launcher.launched
    assert (request.trigger, request.user_id, list(request.record_ids or [])) == (
        Trigger.RETRY.value,
        "hlf.admin",
        [ids[0], ids[2]],
    )
    assert request.run_config["ops"]["export_approved_records"]["config"]["record_ids"] == [ids[0], ids[2]]
    # The backoff is overridden and reset; the attempt count stays until the retry runs.
    assert tuple(state(api, ids[0])) == ("pending", None, 1)
    assert state(api, ids[1])[0] == "failed" and state(api, ids[1])[1] is not None


def test_retry_all_takes_every_failed_record_in_one_run(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 5)
    fail_records(api.engine, "hlf", ids[:4])
    body = json_of(api.client(seeded.hlf_admin).post("/api/orgs/hlf/retry", json={"record_ids": None}))
    assert body["record_ids"] == ids[:4]
    assert len(api.launcher.launched) == 1 and list(api.launcher.launched[0].record_ids or []) == ids[:4]
    assert all(state(api, i)[0] == "pending" for i in ids[:4])


def test_a_refused_retry_leaves_the_records_and_their_backoff_alone(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 2)
    fail_records(api.engine, "hlf", ids)
    api.launcher.active["hlf"] = "running-run"
    client = api.client(seeded.hlf_admin)
    response = client.post("/api/orgs/hlf/retry", json={})
    assert response.status_code == 409 and "already queued or running" in response.json()["detail"]
    assert all(state(api, i)[0] == "failed" and state(api, i)[1] is not None for i in ids)
    del api.launcher.active["hlf"]
    nothing = client.post("/api/orgs/hlf/retry", json={"record_ids": ["nope"]})
    assert nothing.status_code == 409 and "no failed records" in nothing.json()["detail"]


def test_a_global_administrator_sees_volunteers_by_initials(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 1)
    fail_records(api.engine, "hlf", ids)
    body = json_of(api.client(seeded.global_admin).get("/api/orgs/hlf/records", params={"status": "failed"}))
    assert body["records"][0]["person_name"] == "K. N."
    assert CLOCK > NOW
