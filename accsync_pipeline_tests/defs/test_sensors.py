"""Approval, auto-retry and alert sensors, run with Dagster's testing utilities on a real database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import create_run_for_test
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.defs.sensors.alerts import alert_rules_sensor
from accsync_pipeline.defs.sensors.approvals import approval_sensor
from accsync_pipeline.defs.sensors.retries import auto_retry_sensor
from accsync_pipeline.domain.org import AlertThresholds
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.domain.run_tags import ORG_TAG, TRIGGER_TAG
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import notifications
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org

SETTINGS = {"base_url": "http://127.0.0.1:9", "token_env": "UNUSED_TOKEN"}


def tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None
) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"accsync_db": AccsyncDatabase()}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def org(org_id: str, on_approval: bool = True, enabled: bool = True, **overrides: object) -> object:
    return sandbox_org(
        org_id, "xledger", SETTINGS, sync_on_approval=on_approval, enabled=enabled, **overrides
    )


def test_a_burst_of_approvals_becomes_one_run_per_org_that_asks_for_it(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    with engine.begin() as conn:
        for o in (
            org("alpha"),
            org("beta"),
            org("manual_only", on_approval=False),
            org("off", enabled=False),
        ):
            add_org_with_admin(conn, o)  # type: ignore[arg-type]
        for org_id in ("alpha", "beta", "manual_only", "off"):
            add_sources(conn, org_id, 25, prefix=f"{org_id}-")
    result = tick(approval_sensor, dagster_instance)
    requests = result.run_requests or []
    assert sorted(r.partition_key or "" for r in requests) == ["alpha", "beta"]
    assert all(r.tags[TRIGGER_TAG] == "approval" and r.tags[ORG_TAG] == r.partition_key for r in requests)
    # New orgs get their partition in the same tick.
    added = {k for req in result.dynamic_partitions_requests or [] for k in req.partition_keys}
    assert added == {"alpha", "beta"}

    # The cursor survives a restart: the same records do not trigger again.
    again = tick(approval_sensor, dagster_instance, cursor=result.cursor)
    assert not again.run_requests
    # A new approval after the cursor triggers only its org.
    with engine.begin() as conn:
        add_sources(conn, "beta", 1, prefix="beta-late-", updated_at=datetime.now(UTC))
    later = tick(approval_sensor, dagster_instance, cursor=again.cursor)
    assert [r.partition_key for r in later.run_requests or []] == ["beta"]


def test_an_org_already_syncing_gets_no_duplicate_but_its_turn_comes(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha"))  # type: ignore[arg-type]
        add_sources(conn, "alpha", 5)
    running = create_run_for_test(
        dagster_instance, job_name="sync_job", status=dg.DagsterRunStatus.STARTED, tags={ORG_TAG: "alpha"}
    )
    busy = tick(approval_sensor, dagster_instance)
    assert not busy.run_requests
    dagster_instance.report_run_failed(running)
    freed = tick(approval_sensor, dagster_instance, cursor=busy.cursor)
    assert [r.partition_key for r in freed.run_requests or []] == ["alpha"]


def approve_later(engine: Engine, delay: float, org_id: str, prefix: str) -> threading.Thread:
    """Commits one approval for the org `delay` seconds from now, on a thread of its own."""

    def commit() -> None:
        time.sleep(delay)
        with engine.begin() as conn:
            add_sources(conn, org_id, 1, prefix=prefix, updated_at=datetime.now(UTC))

    thread = threading.Thread(target=commit)
    thread.start()
    return thread


def test_an_approval_committed_while_a_tick_waits_is_launched_by_that_tick(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha"))  # type: ignore[arg-type]
        add_org_with_admin(conn, org("manual_only", on_approval=False))  # type: ignore[arg-type]
        add_sources(conn, "alpha", 2, prefix="alpha-old-")
    first = tick(approval_sensor, dagster_instance)
    assert [r.partition_key for r in first.run_requests or []] == ["alpha"]
    monkeypatch.setenv("ACCSYNC_APPROVAL_LONG_POLL_SECONDS", "4.5")
    # An approval for an org that does not sync on approval must not end the wait; alpha's must.
    writers = [
        approve_later(engine, 0.3, "manual_only", "manual-new-"),
        approve_later(engine, 0.9, "alpha", "alpha-new-"),
    ]
    started = time.monotonic()
    waited = tick(approval_sensor, dagster_instance, cursor=first.cursor)
    elapsed = time.monotonic() - started
    for writer in writers:
        writer.join()
    assert [r.partition_key for r in waited.run_requests or []] == ["alpha"]
    assert 0.9 <= elapsed < 4.5
    # The run took alpha's records in; the cursor moved past both new records: nothing launches twice.
    with engine.begin() as conn:
        record_store.intake(conn, "alpha", datetime.now(UTC))
    monkeypatch.setenv("ACCSYNC_APPROVAL_LONG_POLL_SECONDS", "0")
    assert not tick(approval_sensor, dagster_instance, cursor=waited.cursor).run_requests


def test_a_tick_with_nothing_to_launch_returns_after_its_bound(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha"))  # type: ignore[arg-type]
        add_sources(conn, "alpha", 2)
    first = tick(approval_sensor, dagster_instance)
    monkeypatch.setenv("ACCSYNC_APPROVAL_LONG_POLL_SECONDS", "1.2")
    started = time.monotonic()
    idle = tick(approval_sensor, dagster_instance, cursor=first.cursor)
    elapsed = time.monotonic() - started
    assert not idle.run_requests
    assert idle.skip_reason is not None and idle.skip_reason.skip_message == "no new approvals"
    assert 1.0 <= elapsed < 3.0  # the last read comes within one poll interval of the bound
    assert idle.cursor == first.cursor


def test_auto_retry_launches_only_when_records_are_due(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha"))  # type: ignore[arg-type]
        add_org_with_admin(conn, org("beta"))  # type: ignore[arg-type]
        add_sources(conn, "alpha", 1, prefix="A")
        add_sources(conn, "beta", 1, prefix="B")
        record_store.intake(conn, "alpha", now)
        record_store.intake(conn, "beta", now)
        record_store.write_results(
            conn,
            [
                RecordResult(
                    "A00000",
                    "alpha",
                    SyncStatus.FAILED,
                    error="503",
                    next_attempt_at=now - timedelta(seconds=1),
                ),
                RecordResult(
                    "B00000", "beta", SyncStatus.FAILED, error="503", next_attempt_at=now + timedelta(hours=1)
                ),
            ],
            "run-1",
            "schedule",
            now,
        )
    result = tick(auto_retry_sensor, dagster_instance)
    assert [(r.partition_key, r.tags[TRIGGER_TAG]) for r in result.run_requests or []] == [
        ("alpha", "auto_retry")
    ]


def test_alert_sensor_notifies_once_per_condition_and_once_when_it_clears(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    old = datetime.now(UTC) - timedelta(hours=60)
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha"))  # type: ignore[arg-type]
        ids = add_sources(conn, "alpha", 3, approved_at=old, updated_at=old)
        record_store.intake(conn, "alpha", old)

    def evaluate_and_list() -> list[str]:
        alert_rules_sensor(
            dg.build_sensor_context(instance=dagster_instance, resources={"accsync_db": AccsyncDatabase()})
        )
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(notifications.c.user_id, notifications.c.severity).order_by(
                    notifications.c.notification_id
                )
            ).all()
        assert {r.user_id for r in rows} == {"alpha.admin"}
        return [r.severity for r in rows]

    for _ in range(3):
        assert evaluate_and_list() == ["warning"]  # pending over 48 hours, told once
    with engine.begin() as conn:
        results = [RecordResult(rid, "alpha", SyncStatus.EXPORTED, external_id=f"X{rid}") for rid in ids]
        record_store.write_results(conn, results, "run-2", "manual", datetime.now(UTC))
    assert evaluate_and_list() == ["warning", "info"]  # and once that it is resolved
    assert evaluate_and_list() == ["warning", "info"]


def test_failed_runs_in_dagsters_history_count_as_errors_until_a_run_succeeds(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, org("alpha", alerts=AlertThresholds(error_threshold=2)))  # type: ignore[arg-type]

    def evaluate_and_count() -> list[str]:
        alert_rules_sensor(
            dg.build_sensor_context(instance=dagster_instance, resources={"accsync_db": AccsyncDatabase()})
        )
        with engine.connect() as conn:
            return [r.severity for r in conn.execute(sa.select(notifications.c.severity)).all()]

    for _ in range(2):
        create_run_for_test(
            dagster_instance, job_name="sync_job", status=dg.DagsterRunStatus.FAILURE, tags={ORG_TAG: "alpha"}
        )
    assert evaluate_and_count() == []  # two errors: not more than the threshold of 2
    create_run_for_test(
        dagster_instance, job_name="sync_job", status=dg.DagsterRunStatus.FAILURE, tags={ORG_TAG: "alpha"}
    )
    assert evaluate_and_count() == ["critical"]
    assert evaluate_and_count() == ["critical"]
    create_run_for_test(
        dagster_instance, job_name="sync_job", status=dg.DagsterRunStatus.SUCCESS, tags={ORG_TAG: "alpha"}
    )
    assert evaluate_and_count() == ["critical", "info"]
