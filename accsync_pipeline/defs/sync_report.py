"""What a finished sync tells Dagster: materialization metadata, asset check results and a run tag.

The metadata carries the run's delta (exported, skipped with reasons, failed with the ledger's
own error text and code) and the org's state now (pending, failed, in flight, oldest pending
age), so that a partition page stays informative after a run that had nothing to do. A run
with failed records gets the tag `accsync/failed_records`, and one whose reconciliation found
a discrepancy `accsync/ledger`, so both stand out in the runs list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.defs.checks import (
    LEDGER_RECONCILIATION,
    MAX_LISTED,
    CheckOutcome,
    reconciliation_check,
    state_checks,
    string_table,
)
from accsync_pipeline.defs.resources import ConnectorFactory
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import RecordType
from accsync_pipeline.service.export import ExportSummary
from accsync_pipeline.service.reconcile import ReconciliationReport, recent_report, reconcile_org
from accsync_pipeline.store import org_state

FAILED_RECORDS_TAG = "accsync/failed_records"
LEDGER_TAG = "accsync/ledger"

SyncEvent = dg.MaterializeResult[None] | dg.AssetCheckResult


def sync_metadata(
    summary: ExportSummary,
    seconds: float,
    errors: Mapping[str, tuple[str, str | None]],
    state: org_state.StateCounts,
    now: datetime,
) -> dict[str, dg.MetadataValue]:
    """The run's delta and the org's state for one record type."""
    failed_rows = []
    for record_id, text in summary.failed:
        stored, code = errors.get(record_id, (text, None))
        failed_rows.append((record_id, stored or text, code or ""))
    oldest = state.oldest_not_exported_at
    return {
        "exported": dg.MetadataValue.int(summary.exported),
        "recovered_by_lookup": dg.MetadataValue.int(summary.recovered),
        "skipped": dg.MetadataValue.int(len(summary.skipped)),
        "failed": dg.MetadataValue.int(len(summary.failed)),
        "skipped_records": string_table(("record_id", "reason"), summary.skipped),
        "failed_records": string_table(("record_id", "error", "code"), failed_rows),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
        "org_pending_now": dg.MetadataValue.int(state.pending),
        "org_failed_now": dg.MetadataValue.int(state.failed),
        "org_in_flight_now": dg.MetadataValue.int(state.in_flight),
        "org_skipped_now": dg.MetadataValue.int(state.skipped),
        "org_exported_total": dg.MetadataValue.int(state.exported),
        "oldest_pending_age_hours": dg.MetadataValue.float(
            round((now - oldest).total_seconds() / 3600, 2) if oldest is not None else 0.0
        ),
    }


def ledger_reconciler(
    engine: Engine, connectors: ConnectorFactory, org: OrgConfig, run_id: str
) -> Callable[[], ReconciliationReport]:
    """Reconciliation after a sync: the latest stored one while it is recent, else a full one
    with a connector of its own (the export's is closed by then). See `RECONCILIATION_MAX_AGE`."""

    def run() -> ReconciliationReport:
        stored = recent_report(engine, org.org_id, datetime.now(UTC))
        if stored is not None:
            return stored
        try:
            connector = connectors.for_org(org)
        except Exception as e:  # the sync itself already said what is wrong with the configuration
            return ReconciliationReport(org.org_id, datetime.now(UTC), 0, None, f"{type(e).__name__}: {e}")
        try:
            return reconcile_org(engine, connector, org.org_id, "sync", run_id)
        finally:
            connector.close()

    return run


def sync_results(
    context: dg.AssetExecutionContext,
    engine: Engine,
    org: OrgConfig,
    summaries: Mapping[str, ExportSummary],
    seconds: float,
    asset_keys: Mapping[RecordType, dg.AssetKey],
    reconcile: Callable[[], ReconciliationReport] | None,
    now: datetime,
) -> Iterator[SyncEvent]:
    """Materializations first (the checks target them), then every selected check of every type."""
    run_id = context.run.run_id
    failed_ids = [rid for s in summaries.values() for rid, _ in s.failed[:MAX_LISTED]]
    outcomes: list[CheckOutcome] = []
    with engine.connect() as conn:
        errors = org_state.errors_of(conn, failed_ids)
        for record_type, summary in summaries.items():
            key = asset_keys[RecordType(record_type)]
            state = org_state.state_counts(conn, org.org_id, record_type)
            context.log.info(
                f"{record_type}: exported {summary.exported}, skipped {len(summary.skipped)}, "
                f"failed {len(summary.failed)}; now pending {state.pending}, failed {state.failed}"
            )
            yield dg.MaterializeResult(
                asset_key=key, metadata=sync_metadata(summary, seconds, errors, state, now)
            )
            outcomes += state_checks(
                conn, context.instance, org, record_type, key, now, finished_run_id=run_id
            )
    selected = context.selected_asset_check_keys
    tags: dict[str, str] = {}
    wants_reconciliation = any(k.name == LEDGER_RECONCILIATION for k in selected)
    if reconcile is not None and wants_reconciliation:
        report = reconcile()
        context.log.info(
            f"ledger reconciliation of {report.checked_at.isoformat(timespec='seconds')}"
            f"{' (stored, not repeated)' if report.reused else ''}: {report.summary()}"
        )
        if not report.clean:
            tags[LEDGER_TAG] = "unreadable" if report.result is None else "mismatch"
        outcomes += [
            reconciliation_check(report, record_type, asset_keys[RecordType(record_type)])
            for record_type in summaries
        ]
    for outcome in outcomes:
        if dg.AssetCheckKey(outcome.asset_key, outcome.check_name) in selected:
            yield outcome.as_result()
    failed = sum(len(s.failed) for s in summaries.values())
    if failed:
        tags[FAILED_RECORDS_TAG] = str(failed)
    if tags:
        context.instance.add_run_tags(run_id, tags)
