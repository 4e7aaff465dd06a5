"""The `accsync_pipeline` code location, loaded by workspace.yaml."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.assets import export_approved_records
from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.ledger_checks import ledger_checks_job, ledger_checks_schedule
from accsync_pipeline.defs.lineage import approved_records, ledger_specs
from accsync_pipeline.defs.resources import AccsyncDatabase, ConnectorFactory
from accsync_pipeline.defs.schedules import build_org_schedules, schedule_reconciliation_sensor
from accsync_pipeline.defs.sensors.alerts import alert_rules_sensor
from accsync_pipeline.defs.sensors.approvals import approval_sensor
from accsync_pipeline.defs.sensors.liveness import run_liveness_sensor
from accsync_pipeline.defs.sensors.partitions import organization_partitions_sensor
from accsync_pipeline.defs.sensors.retries import auto_retry_sensor
from accsync_pipeline.defs.sensors.run_outcome import sync_run_failure_sensor


def build_definitions() -> dg.Definitions:
    """Built when the code location loads: per-org schedules come from the accsync database."""
    return dg.Definitions(
        assets=[approved_records, export_approved_records, *ledger_specs(list(export_approved_records.keys))],
        jobs=[sync_job, ledger_checks_job],
        schedules=[*build_org_schedules(), ledger_checks_schedule],
        sensors=[
            organization_partitions_sensor,
            approval_sensor,
            auto_retry_sensor,
            alert_rules_sensor,
            sync_run_failure_sensor,
            run_liveness_sensor,
            schedule_reconciliation_sensor,
        ],
        resources={"accsync_db": AccsyncDatabase(), "connectors": ConnectorFactory()},
    )


defs = build_definitions()
