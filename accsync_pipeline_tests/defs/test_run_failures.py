"""A run that fails says why in words, wherever it is shown, whatever launched it.

A partition materialized from the Dagster UI runs as the implicit asset job with only the
partition tag; with a secret variable misspelt it fails before taking anything in. The
failure sensor closes its row and tells the org admins the cause; the sync log and the
status screen say the same; records approved 50 hours ago raise the 48-hour alert until a
sync with the secret fixed posts them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import create_run_for_test
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import run_definitions
from accsync_pipeline.defs.assets import ASSET_KEYS
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.defs.sensors.run_outcome import is_sync_run, sync_run_failure_sensor
from accsync_pipeline.domain.run_tags import ORG_TAG
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN
from accsync_pipeline.service import in_process
from accsync_pipeline.service.alerting import check_alerts
from accsync_pipeline.service.dagster_runs import ensure_partition
from accsync_pipeline.service.history import org_history
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.status import org_status
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.schema import notifications
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import xledger_settings

TYPO_ENV = "HLF_XL_TOKEN_TYPO"
CAUSE = f"environment variable {TYPO_ENV} is not set"
# A wrapper's or an exception's class name, as Dagster and Python would print it.
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Failure)\b|Dagster")


def run_failure_sensor_on(instance: dg.DagsterInstance, run_id: str) -> None:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    record = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    event = record.event_log_entry.dagster_event
    assert event is not None
    context = dg.build_run_status_sensor_context(
        sensor_name=sync_run_failure_sensor.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"accsync_db": AccsyncDatabase()},
    ).for_run_failure()
    sync_run_failure_sensor(context)


def materialize_from_the_ui(instance: dg.DagsterInstance, org_id: str) -> dg.ExecuteInProcessResult:
    """What the Dagster UI launches for one partition: the implicit asset job, the partition tag only."""
    ensure_partition(instance, org_id)
    job = run_definitions().resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance,
        partition_key=org_id,
        asset_selection=list(ASSET_KEYS.values()),
        raise_on_error=False,
    )


def notices_of(engine: Engine, user_id: str) -> list[Any]:
    with engine.connect() as conn:
        query = (
            sa.select(notifications.c.dedupe_key, notifications.c.title, notifications.c.body)
            .where(notifications.c.user_id == user_id)
            .order_by(notifications.c.notification_id)
        )
        return list(conn.execute(query).all())


def test_a_ui_run_with_a_misspelt_secret_says_why_and_the_48_hour_alert_fires_until_fixed(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    xledger_sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TYPO_ENV, raising=False)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        org = sandbox_org("acme", "xledger", xledger_settings(xledger_sandbox, token_env=TYPO_ENV))
        admin = add_org_with_admin(conn, org)
        add_sources(
            conn, "acme", 3, approved_at=now - timedelta(hours=50), updated_at=now - timedelta(hours=50)
        )

    result = materialize_from_the_ui(dagster_instance, "acme")
    assert not result.success
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run is not None and run.job_name == "__ASSET_JOB" and is_sync_run(run)
    run_failure_sensor_on(dagster_instance, result.run_id)
    run_failure_sensor_on(dagster_instance, result.run_id)  # notifies once per run

    with engine.connect() as conn:
        row = run_store.find_run(conn, result.run_id)
        status = org_status(conn, "acme", now)
    assert row is not None and row.status == "failure" and row.error is not None and CAUSE in row.error
    [notice] = notices_of(engine, admin.user_id)
    key, body = notice.dedupe_key, notice.body
    assert key == f"run_failed:{result.run_id}"
    assert CAUSE in body and "not retried" in body and "retries" not in body
    assert not CLASS_NAME.search(body), body
    [entry] = org_history(dagster_instance, "acme", engine=engine)
    assert entry.status == "FAILURE" and CAUSE in entry.outcome and not CLASS_NAME.search(entry.outcome)
    assert entry.outcome.startswith("Failed before exporting any record")
    assert status is not None and status.running is None
    # Red: records wait and the org never synced; the reason names the failure's cause.
    assert status.health.level.value == "red" and CAUSE in status.health.reason
    assert status.last_failed_run_id == result.run_id and not CLASS_NAME.search(status.health.reason)

    # Nothing was taken in, yet the records approved 50 hours ago owe an export: the alert opens.
    report = check_alerts(engine, dagster_instance, now)
    assert "stale_pending:acme" in report.opened
    waiting = [n for n in notices_of(engine, admin.user_id) if n.dedupe_key.startswith("stale_pending:acme@")]
    assert len(waiting) == 1 and "3 approved records" in waiting[0].body

    # The secret is fixed; the next sync posts them and the alert resolves.
    monkeypatch.setenv(TYPO_ENV, DEFAULT_TOKEN)
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual", admin.user_id))
    assert success
    report = check_alerts(engine, dagster_instance, datetime.now(UTC))
    assert "stale_pending:acme" in report.cleared
    resolved = [n for n in notices_of(engine, admin.user_id) if n.dedupe_key.endswith("#resolved")]
    assert [n.title for n in resolved] == ["Resolved: approved records waiting in ACME"]


def test_runs_that_are_not_syncs_are_ignored_and_a_ui_run_is_a_sync(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    other = create_run_for_test(dagster_instance, job_name="housekeeping")
    ui = create_run_for_test(
        dagster_instance,
        job_name="__ASSET_JOB",
        tags={"dagster/partition": "acme"},
        asset_selection=frozenset({ASSET_KEYS[next(iter(ASSET_KEYS))]}),
    )
    tagged = create_run_for_test(dagster_instance, job_name="sync_job", tags={ORG_TAG: "acme"})
    assert [is_sync_run(r) for r in (other, ui, tagged)] == [False, True, True]


def test_the_failure_sensor_watches_every_job_of_every_location() -> None:
    # The implicit asset job (a partition materialized from the UI) and in-process runs included.
    assert isinstance(sync_run_failure_sensor, dg.RunStatusSensorDefinition)
    assert sync_run_failure_sensor._monitor_all_code_locations
    assert sync_run_failure_sensor.description and "Dagster UI" in sync_run_failure_sensor.description
