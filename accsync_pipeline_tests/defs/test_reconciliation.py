"""Ledger reconciliation against the sandboxes over HTTP: deleted or doubled by hand, it is reported.

The daily job and `accsync reconcile` reconcile in full; a sync reports the latest stored
reconciliation while it is younger than RECONCILIATION_MAX_AGE, and reconciles in full after.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from accsync_pipeline.cli import root
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.defs.ledger_checks import ledger_checks_job
from accsync_pipeline.defs.resources import AccsyncDatabase, ConnectorFactory
from accsync_pipeline.defs.sync_report import LEDGER_TAG
from accsync_pipeline.domain.records import ExportableRecord, RecordType, idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.reconcile import RECONCILIATION_MAX_AGE, findings_csv, reconcile_org
from accsync_pipeline.store import reconciliations as reconciliation_store
from accsync_pipeline.store.schema import ledger_reconciliations, notifications
from accsync_pipeline_tests.defs.test_asset_checks import evaluations
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings, xledger_settings

FRESH = datetime.now(UTC) - timedelta(minutes=5)


@pytest.fixture
def org_sandbox(request: pytest.FixtureRequest) -> tuple[str, RunningSandbox, dict[str, object]]:
    connector_type = request.param
    fixture = "xledger_sandbox" if connector_type == "xledger" else "dynamics_sandbox"
    sandbox = request.getfixturevalue(fixture)
    settings = xledger_settings(sandbox) if connector_type == "xledger" else dynamics_settings(sandbox)
    return connector_type, sandbox, settings


def post_again_by_hand(connector_type: str, settings: dict[str, object], record_id: str) -> None:
    """Bypass accsync's lookup-before-send: the connector posts whatever it is given."""
    record = ExportableRecord(
        record_id=record_id,
        org_id="acme",
        record_type=RecordType.REIMBURSEMENT,
        employee_number="E1",
        amount=Decimal("10.00"),
        currency="NOK",
        expense_account="7140",
        description="posted again by hand",
        expense_date=FRESH.date(),
        approved_at=FRESH,
    )
    connector = connector_for(connector_type, settings)
    try:
        outcomes = list(connector.export([record]))
    finally:
        connector.close()
    assert len(outcomes) == 1 and type(outcomes[0]).__name__ == "Posted"


def findings_of(check: dg.AssetCheckEvaluation) -> dict[str, str]:
    """record_id → kind, from a reconciliation check's findings table."""
    table = check.metadata["findings"].value.records  # type: ignore[union-attr]
    return {r.data["record_id"]: r.data["kind"] for r in table}


def reconciliation_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(ledger_reconciliations)).scalar_one())


def run_daily_checks(instance: dg.DagsterInstance) -> str:
    result = ledger_checks_job.execute_in_process(
        instance=instance, resources={"accsync_db": AccsyncDatabase(), "connectors": ConnectorFactory()}
    )
    assert result.success
    return result.run_id


@pytest.mark.parametrize("org_sandbox", ["dynamics", "xledger"], indirect=True)
def test_a_record_deleted_or_posted_twice_by_hand_is_reported_by_the_daily_and_the_on_demand_reconciliation(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    org_sandbox: tuple[str, RunningSandbox, dict[str, object]],
) -> None:
    connector_type, sandbox, settings = org_sandbox
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", connector_type, settings))
        ids = add_sources(conn, "acme", 4, prefix="R", approved_at=FRESH, updated_at=FRESH)
        add_sources(
            conn, "acme", 2, prefix="H", record_type="honorarium", approved_at=FRESH, updated_at=FRESH
        )

    # The org's first sync has no reconciliation to report: it reconciles in full.
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))

    assert success
    clean = evaluations(dagster_instance, run_id)
    assert clean[("reimbursements", "ledger_reconciliation")].passed
    assert clean[("honorariums", "ledger_reconciliation")].passed
    assert clean[("reimbursements", "ledger_reconciliation")].metadata["reconciled_in_this_run"].value is True
    if connector_type == "dynamics":
        # An accountant posts the journal: the lines become general ledger entries, still ours.
        httpx.post(f"{sandbox.base_url}/_sandbox/journal/post", timeout=10).raise_for_status()
    ledger = connector_for(connector_type, settings)
    try:
        assert reconcile_org(engine, ledger, "acme", "manual").clean
    finally:
        ledger.close()

    assert sandbox.delete_postings(idempotency_key("acme", ids[0])) >= 1
    post_again_by_hand(connector_type, settings, ids[1])

    # A sync within a day of the last reconciliation reports that one and asks the ledger nothing.
    stored, requests = reconciliation_count(engine), sandbox.stats()["requests"]
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "approval"))

    assert success
    reused = evaluations(dagster_instance, run_id)[("reimbursements", "ledger_reconciliation")]
    assert reused.passed and "as of" in (reused.description or "")
    assert reused.metadata["reconciled_in_this_run"].value is False
    assert reused.metadata["reconciled_by"].value == "manual"
    assert reconciliation_count(engine) == stored
    assert sandbox.stats()["requests"] == requests  # nothing pending, nothing to reconcile

    # The daily job reconciles in full and finds both.
    daily_run_id = run_daily_checks(dagster_instance)

    found = evaluations(dagster_instance, daily_run_id)
    check = found[("reimbursements", "ledger_reconciliation")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.partition == "acme"
    assert findings_of(check) == {ids[0]: "missing", ids[1]: "duplicated"}
    assert found[("honorariums", "ledger_reconciliation")].passed
    with engine.connect() as conn:
        latest = reconciliation_store.latest(conn, "acme")
        told = conn.execute(
            sa.select(notifications.c.user_id, notifications.c.severity).where(
                notifications.c.dedupe_key.like("reconciliation:acme:%")
            )
        ).all()
    assert latest is not None and (latest.missing, latest.duplicated, latest.unknown) == (1, 1, 0)
    assert latest.run_id == daily_run_id and latest.trigger == "schedule"
    assert told == [("acme.admin", "critical")]

    # The next sync reports the daily finding (stored, with the record types split per asset).
    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "schedule"))
    assert success
    found = evaluations(dagster_instance, run_id)
    assert findings_of(found[("reimbursements", "ledger_reconciliation")]) == {
        ids[0]: "missing",
        ids[1]: "duplicated",
    }
    assert found[("honorariums", "ledger_reconciliation")].passed
    run = dagster_instance.get_run_by_id(run_id)
    assert run is not None and run.tags[LEDGER_TAG] == "mismatch"

    # On demand: `accsync reconcile` reconciles in full now, and says the same.
    result = CliRunner().invoke(root, ["reconcile", "--org", "acme", "--json"])
    assert result.exit_code == 1, result.output
    answer = json.loads(result.output)
    assert {f["record_id"]: f["kind"] for f in answer["findings"]} == {
        ids[0]: "missing",
        ids[1]: "duplicated",
    }
    with engine.connect() as conn:
        latest = reconciliation_store.latest(conn, "acme")
    assert latest is not None and latest.trigger == "manual" and latest.missing == 1


def test_a_sync_reconciles_in_full_when_the_latest_reconciliation_is_older_than_a_day(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, xledger_sandbox: RunningSandbox
) -> None:
    settings = xledger_settings(xledger_sandbox)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "xledger", settings))
        ids = add_sources(conn, "acme", 3, prefix="R", approved_at=FRESH, updated_at=FRESH)
    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))
    assert success and reconciliation_count(engine) == 1
    assert xledger_sandbox.delete_postings(idempotency_key("acme", ids[2])) >= 1
    with engine.begin() as conn:
        conn.execute(
            ledger_reconciliations.update().values(
                checked_at=datetime.now(UTC) - RECONCILIATION_MAX_AGE - timedelta(minutes=1)
            )
        )

    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "approval"))

    assert success
    check = evaluations(dagster_instance, run_id)[("reimbursements", "ledger_reconciliation")]
    assert not check.passed and findings_of(check) == {ids[2]: "missing"}
    assert check.metadata["reconciled_in_this_run"].value is True
    with engine.connect() as conn:
        latest = reconciliation_store.latest(conn, "acme")
    assert latest is not None and latest.run_id == run_id and latest.trigger == "sync"
    assert reconciliation_count(engine) == 2


def test_a_sync_after_a_reconciliation_that_could_not_read_the_ledger_reconciles_in_full(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, xledger_sandbox: RunningSandbox
) -> None:
    settings = xledger_settings(xledger_sandbox)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "xledger", settings))
        add_sources(conn, "acme", 2, prefix="R", approved_at=FRESH, updated_at=FRESH)
        reconciliation_store.save(conn, "acme", datetime.now(UTC), "schedule", None, None, "timed out")

    run_id, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual"))

    assert success
    check = evaluations(dagster_instance, run_id)[("reimbursements", "ledger_reconciliation")]
    assert check.passed and check.metadata["reconciled_in_this_run"].value is True
    assert reconciliation_count(engine) == 2


def test_a_key_of_ours_that_no_record_has_is_unknown_and_the_findings_export_as_csv(
    engine: Engine, accsync_env: str, xledger_sandbox: RunningSandbox
) -> None:
    settings = xledger_settings(xledger_sandbox)
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "xledger", settings))
    post_again_by_hand("xledger", settings, "GHOST")
    ledger = connector_for("xledger", settings)
    try:
        report = reconcile_org(engine, ledger, "acme", "manual")
    finally:
        ledger.close()
    assert report.result is not None and report.result.count("unknown") == 1
    assert report.result.findings[0].key == idempotency_key("acme", "GHOST").upper()
    csv = findings_csv(report).splitlines()
    assert csv[0] == "org_id,kind,record_id,record_type,key,postings,detail"
    assert csv[1].startswith("acme,unknown,,")
