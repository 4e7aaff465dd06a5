"""The sync job against the sandboxes: partial failure, retries, run history, one sync per org."""

from __future__ import annotations

import threading
import time
from collections import Counter

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.assets import ASSET_KEYS
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.defs.sensors.run_outcome import sync_run_failure_sensor
from accsync_pipeline.domain.records import RecordType, idempotency_key
from accsync_pipeline.domain.run_tags import ORG_TAG, TRIGGER_TAG, USER_TAG
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.dagster_runs import active_run_id
from accsync_pipeline.service.history import org_history
from accsync_pipeline.service.launch import SyncAlreadyRunning, SyncRequest
from accsync_pipeline.service.org_config import update_sync_settings
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import notifications, record_sync_state
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.ledger_counts import key_counts
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings, xledger_settings


def ledger_keys(sandbox: RunningSandbox, connector_type: str) -> Counter[str]:
    """How many times each (upper-cased) idempotency key stands in the ledger."""
    return key_counts(sandbox, connector_type)


def upper_keys(org_id: str, record_ids: list[str]) -> set[str]:
    """Keys as the ledgers compare them: Business Central keeps Code fields upper-cased."""
    return {idempotency_key(org_id, rid).upper() for rid in record_ids}


def statuses(engine: Engine, org_id: str) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(record_sync_state.c.status).where(record_sync_state.c.org_id == org_id))
        return Counter(r[0] for r in rows)


@pytest.fixture
def org_sandbox(request: pytest.FixtureRequest) -> tuple[str, RunningSandbox, dict[str, object]]:
    connector_type = request.param
    if connector_type == "xledger":
        sandbox = request.getfixturevalue("xledger_sandbox")
        return connector_type, sandbox, xledger_settings(sandbox)
    sandbox = request.getfixturevalue("dynamics_sandbox")
    return connector_type, sandbox, dynamics_settings(sandbox)


@pytest.mark.parametrize("org_sandbox", ["dynamics", "xledger"], indirect=True)
def test_partial_failure_posts_the_good_records_once_and_fails_only_the_rejected(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    org_sandbox: tuple[str, RunningSandbox, dict[str, object]],
) -> None:
    connector_type, sandbox, settings = org_sandbox
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", connector_type, settings))
        good = add_sources(conn, "acme", 30, prefix="G")
        honoraria = add_sources(conn, "acme", 5, prefix="H", record_type="honorarium")
        add_sources(conn, "acme", 2, prefix="S", employee_number=None)
    rejected = {idempotency_key("acme", rid): "INVALID_VALUE" for rid in good[:3]}
    sandbox.set_faults(reject_keys=rejected)

    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual", "acme.admin"))

    assert success
    ledger = ledger_keys(sandbox, connector_type)
    assert set(ledger) == upper_keys("acme", good[3:] + honoraria) and set(ledger.values()) == {1}
    assert statuses(engine, "acme") == {"exported": 32, "failed": 3, "skipped": 2}
    run = dagster_instance.get_run_by_id(run_id)
    assert run is not None
    assert (
        run.tags[ORG_TAG] == "acme"
        and run.tags[TRIGGER_TAG] == "manual"
        and run.tags[USER_TAG] == "acme.admin"
    )
    [entry] = org_history(dagster_instance, "acme")
    assert (entry.exported, entry.skipped, entry.failed) == (32, 2, 3)
    assert {r["record_id"] for r in entry.skipped_records} == {"S00000", "S00001"}
    assert all("employee number" in r["reason"] for r in entry.skipped_records)
    with engine.connect() as conn:
        summary = run_store.find_run(conn, run_id)
    assert summary is not None and (summary.status, summary.done, summary.total) == ("success", 37, 37)

    # The next run sends nothing again: posted records left the queue, rejected ones wait for a fix.
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "schedule"))
    assert success and ledger_keys(sandbox, connector_type) == ledger


def test_excluded_record_types_are_skipped_with_the_reason_and_return_when_included(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        org = sandbox_org(
            "acme", "dynamics", dynamics_settings(dynamics_sandbox), record_types=("honorarium",)
        )
        add_org_with_admin(conn, org)
        add_sources(conn, "acme", 4, prefix="R")
        add_sources(conn, "acme", 3, prefix="H", record_type="honorarium")
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert success
    assert len(dynamics_sandbox.postings()) == 3
    assert statuses(engine, "acme") == {"exported": 3, "skipped": 4}
    [entry] = org_history(dagster_instance, "acme")
    assert (entry.exported, entry.skipped) == (3, 4)
    assert all("not included" in r["reason"] for r in entry.skipped_records)

    with engine.begin() as conn:
        update_sync_settings(conn, "acme", record_types=["reimbursement", "honorarium"])
    assert statuses(engine, "acme") == {"exported": 3, "pending": 4}
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert success and statuses(engine, "acme") == {"exported": 7}
    assert set(ledger_keys(dynamics_sandbox, "dynamics").values()) == {1}


def test_a_run_narrowed_to_one_type_leaves_the_other_queued(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "acme", 4, prefix="R")
        add_sources(conn, "acme", 3, prefix="H", record_type="honorarium")
    request = SyncRequest("acme", "manual", record_types=["honorarium"])
    run_id, success = in_process.run_sync(dagster_instance, request)
    assert success
    assert statuses(engine, "acme") == {"exported": 3, "pending": 4}
    events = dagster_instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    materialized = {m.asset_key for r in events.records if (m := r.event_log_entry.asset_materialization)}
    assert materialized == {ASSET_KEYS[RecordType.HONORARIUM]}


def test_transient_failure_is_retried_within_the_run_and_posts_once(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        ids = add_sources(conn, "acme", 60)  # one $batch
    # One more 503 than the connector's own four tries absorb: the run retries once, then posts.
    dynamics_sandbox.set_faults(server_errors=5)
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert success
    ledger = ledger_keys(dynamics_sandbox, "dynamics")
    assert set(ledger) == upper_keys("acme", ids) and set(ledger.values()) == {1}
    retries = dagster_instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
    ).records
    assert len(retries) == 1
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar_one() == 0


def test_exhausted_retries_fail_the_run_and_notify_the_org_admins_once(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        admin = add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "acme", 20)
    dynamics_sandbox.set_faults(server_errors=10_000)
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert not success
    assert dynamics_sandbox.postings() == []
    assert statuses(engine, "acme") == {"in_flight": 20}  # resolved by lookup on the next run

    for _ in range(2):  # a second evaluation must not notify again
        context = dg.build_run_status_sensor_context(
            sensor_name=sync_run_failure_sensor.name,
            dagster_instance=dagster_instance,
            dagster_run=dagster_instance.get_run_by_id(run_id),
            dagster_event=dagster_instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.RUN_FAILURE
            )
            .records[0]
            .event_log_entry.dagster_event,
            resources={"accsync_db": AccsyncDatabase()},
        ).for_run_failure()
        sync_run_failure_sensor(context)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications.c.user_id, notifications.c.body)).all()
    assert [r.user_id for r in rows] == [admin.user_id]
    assert "acme" in rows[0].body.lower() and "dynamics" in rows[0].body.lower()

    dynamics_sandbox.set_faults(server_errors=0)
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "retry"))
    assert success and set(ledger_keys(dynamics_sandbox, "dynamics").values()) == {1}
    assert statuses(engine, "acme") == {"exported": 20}


def test_a_second_sync_of_the_same_org_is_refused_while_one_runs(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(
            conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox, max_concurrency=1))
        )
        add_sources(conn, "acme", 300)
    dynamics_sandbox.set_faults(latency_ms=400)
    results: list[bool] = []
    first = threading.Thread(
        target=lambda: results.append(
            in_process.run_sync(dagster_instance, SyncRequest("acme", "schedule"))[1]
        )
    )
    first.start()
    deadline = time.monotonic() + 30
    while active_run_id(dagster_instance, "acme") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(SyncAlreadyRunning, match="already queued or running"):
        in_process.run_sync(dagster_instance, SyncRequest("acme", "manual", "acme.admin"))
    first.join(timeout=120)
    assert results == [True]
    assert set(ledger_keys(dynamics_sandbox, "dynamics").values()) == {1}
