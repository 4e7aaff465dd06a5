"""The sync job: both export assets for one organization partition, in one process."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.assets import export_approved_records

SYNC_JOB_NAME = "sync_job"

sync_job = dg.define_asset_job(
    SYNC_JOB_NAME,
    selection=dg.AssetSelection.assets(export_approved_records),
    # One op, one process: the org's connector is the unit of concurrency against the ledger.
    executor_def=dg.in_process_executor,
    description="Post an organization's pending approved records to its accounting system.",
)
