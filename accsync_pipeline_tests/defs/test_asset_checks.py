"""Asset checks per org partition, evaluated by every sync and by the daily ledger checks job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.assets import ASSET_KEYS
from accsync_pipeline.defs.ledger_checks import ledger_checks_job
from accsync_pipeline.defs.resources import AccsyncDatabase, ConnectorFactory
from accsync_pipeline.defs.sync_report import FAILED_RECORDS_TAG
from accsync_pipeline.domain.org import AlertThresholds
from accsync_pipeline.domain.records import RecordType, idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store.schema import record_sync_state
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings

REIMBURSEMENTS = ASSET_KEYS[RecordType.REIMBURSEMENT]
HONORARIUMS = ASSET_KEYS[RecordType.HONORARIUM]


def evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """(asset, check) → the run's evaluation of it."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        found[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return found


def test_a_sync_with_old_failed_records_warns_per_partition_and_tags_the_run(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=72)
    with engine.begin() as conn:
        add_org_with_admin(
            conn,
            sandbox_org(
                "acme",
                "dynamics",
                dynamics_settings(dynamics_sandbox),
                alerts=AlertThresholds(pending_hours=48),
            ),
        )
        bad = add_sources(conn, "acme", 2, prefix="B", approved_at=long_ago, updated_at=long_ago)
        add_sources(conn, "acme", 3, prefix="G")
        add_sources(conn, "acme", 2, prefix="H", record_type="honorarium")
    # The sandbox refuses them as Business Central does: its own text, its own code.
    code, message = "Application_FieldValidationException", "accountNumber has an invalid value."
    dynamics_sandbox.set_faults(reject_keys={idempotency_key("acme", rid): code for rid in bad})

    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))

    assert success
    found = evaluations(dagster_instance, run_id)
    assert len(found) == 8  # four checks on each export asset
    assert {e.partition for e in found.values()} == {"acme"}
    failed = found[("reimbursements", "failed_records")]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.WARN
    assert message in (failed.description or "")
    rows = [dict(r.data) for r in failed.metadata["failed_records"].value.records]  # type: ignore[union-attr]
    assert {r["record_id"] for r in rows} == set(bad), rows
    assert all(message in r["error"] and r["code"] == code for r in rows), rows
    old = found[("reimbursements", "oldest_pending")]
    assert not old.passed and old.severity == dg.AssetCheckSeverity.WARN
    assert found[("honorariums", "failed_records")].passed
    assert found[("honorariums", "oldest_pending")].passed
    assert found[("reimbursements", "stuck_in_flight")].passed

    # The partition shows the latest evaluation of each check.
    latest = dagster_instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(REIMBURSEMENTS, "failed_records")]
    )
    assert latest[dg.AssetCheckKey(REIMBURSEMENTS, "failed_records")].run_id == run_id

    run = dagster_instance.get_run_by_id(run_id)
    assert run is not None and run.tags[FAILED_RECORDS_TAG] == "2"

    # The materialization carries the ledger's own error and code, and the org's state now.
    materialized = {
        e.event_log_entry.asset_materialization.asset_key: e.event_log_entry.asset_materialization.metadata  # type: ignore[union-attr]
        for e in dagster_instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
    }
    metadata = materialized[REIMBURSEMENTS]
    table = [dict(r.data) for r in metadata["failed_records"].value.records]  # type: ignore[union-attr]
    assert all(message in r["error"] and r["code"] == code for r in table), table
    age = metadata["oldest_pending_age_hours"].value
    assert metadata["org_failed_now"].value == 2 and isinstance(age, float) and age > 48


def test_a_clean_sync_passes_every_state_check_and_has_no_failed_tag(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        fresh = datetime.now(UTC) - timedelta(minutes=5)
        add_sources(conn, "acme", 3, prefix="G", approved_at=fresh, updated_at=fresh)

    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))

    assert success
    found = evaluations(dagster_instance, run_id)
    for name in ("failed_records", "stuck_in_flight", "oldest_pending"):
        assert found[("reimbursements", name)].passed, name
    run = dagster_instance.get_run_by_id(run_id)
    assert run is not None and FAILED_RECORDS_TAG not in run.tags


def test_the_daily_job_reports_records_stuck_in_flight_without_a_live_run_as_an_error(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "acme", 2, prefix="G")
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert success
    # A worker that died after marking a record in flight leaves it so, with its run gone.
    with engine.begin() as conn:
        conn.execute(
            record_sync_state.update()
            .where(record_sync_state.c.record_id == "G00000")
            .values(status="in_flight", last_run_id="run-that-died")
        )

    result = ledger_checks_job.execute_in_process(
        instance=dagster_instance,
        resources={"accsync_db": AccsyncDatabase(), "connectors": ConnectorFactory()},
    )

    found = evaluations(dagster_instance, result.run_id)
    stuck = found[("reimbursements", "stuck_in_flight")]
    assert not stuck.passed and stuck.severity == dg.AssetCheckSeverity.ERROR
    assert stuck.partition == "acme"
    rows = [dict(r.data) for r in stuck.metadata["stuck_records"].value.records]  # type: ignore[union-attr]
    assert rows == [{"record_id": "G00000", "run_id": "run-that-died", "since": rows[0]["since"]}]
    assert found[("honorariums", "stuck_in_flight")].passed
    # The daily job always reconciles in full (a sync may report a stored reconciliation);
    # the stuck record is in the ledger, in transit, so it is no finding.
    reconciled = found[("reimbursements", "ledger_reconciliation")]
    assert reconciled.passed and reconciled.metadata["reconciled_in_this_run"].value is True
    assert reconciled.metadata["reconciled_by"].value == "schedule"
