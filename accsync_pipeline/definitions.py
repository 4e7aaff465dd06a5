"""The `accsync_pipeline` code location, loaded by workspace.yaml.

Nothing here runs at import time: Dagster finds the `@dg.definitions` function and calls it
when it loads the location, so importing this module (as `service/in_process.py` does, and
every module the sensors import) never touches the database.
"""

from __future__ import annotations

from functools import cache

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


def _assets() -> list[dg.SourceAsset | dg.AssetsDefinition | dg.AssetSpec]:
    return [approved_records, export_approved_records, *ledger_specs(list(export_approved_records.keys))]


def _resources() -> dict[str, object]:
    return {"accsync_db": AccsyncDatabase(), "connectors": ConnectorFactory()}


@dg.definitions
def build_definitions() -> dg.Definitions:
    """The code location, built when Dagster loads it: sync schedules come from the accsync database."""
    return dg.Definitions(
        assets=_assets(),
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
        resources=_resources(),
    )


@cache
def run_definitions() -> dg.Definitions:
    """What executing a run in this process needs (assets, jobs, resources); reads no database.

    The schedules and sensors are left out: they do not change a job, and building the
    schedules would read every org and reset what the reconciliation sensor compares against.
    """
    return dg.Definitions(assets=_assets(), jobs=[sync_job, ledger_checks_job], resources=_resources())
