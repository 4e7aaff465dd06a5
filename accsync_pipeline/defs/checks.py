"""Asset checks per org partition: what an ops engineer must know about an org without leaving Dagster.

Each export asset (one per record type) carries four checks, evaluated for the org's partition
at the end of every sync (yielded by the export op) and daily by the ledger checks job:

- `failed_records` (WARN): failed records waiting for attention, with the ledger's own error.
- `stuck_in_flight` (ERROR): records marked in flight whose run is no longer alive.
- `oldest_pending` (WARN): the oldest approval not yet in the ledger, against the org's
  `pending_hours` alert threshold.
- `ledger_reconciliation` (ERROR): every exported record is in the ledger exactly once, and
  the ledger holds no key of ours without an exported record. The daily job reconciles in
  full; a sync reports the latest stored reconciliation while it is younger than
  `RECONCILIATION_MAX_AGE` (a day), since a full one costs ledger requests.

The checks read accsync's record state, not the run's delta, so they say how the org stands now.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.service.launch import ACTIVE_RUN_STATUSES
from accsync_pipeline.service.reconcile import ReconciliationReport
from accsync_pipeline.store import org_state

FAILED_RECORDS = "failed_records"
STUCK_IN_FLIGHT = "stuck_in_flight"
OLDEST_PENDING = "oldest_pending"
LEDGER_RECONCILIATION = "ledger_reconciliation"
MAX_LISTED = 50

CHECK_DESCRIPTIONS = {
    FAILED_RECORDS: "WARN when failed records wait for attention; lists them with the ledger's own error.",
    STUCK_IN_FLIGHT: "ERROR when records are marked in flight but the run that sent them is no longer alive.",
    OLDEST_PENDING: "WARN when an approval older than the org's pending-hours limit is not in the ledger.",
    LEDGER_RECONCILIATION: (
        "ERROR when an exported record is missing from the ledger or posted more than once, "
        "or the ledger holds a key of ours without an exported record."
    ),
}
STATE_CHECKS = (FAILED_RECORDS, STUCK_IN_FLIGHT, OLDEST_PENDING)


def check_specs(asset_keys: Iterable[dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    """The four checks of each export asset, partitioned like it (one result per org)."""
    # Partitioned checks are a preview in Dagster 1.13; the warning would print on every load
    # of the code location (and every CLI command that builds the definitions).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            dg.AssetCheckSpec(name, asset=key, description=text, partitions_def=organization_partitions)
            for key in asset_keys
            for name, text in CHECK_DESCRIPTIONS.items()
        ]


@dataclass(frozen=True)
class CheckOutcome:
    """One check's result, before it becomes an op's AssetCheckResult or a job's AssetCheckEvaluation."""

    asset_key: dg.AssetKey
    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity
    description: str
    metadata: dict[str, dg.MetadataValue]

    def as_result(self) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            asset_key=self.asset_key,
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
        )

    def as_evaluation(self, partition: str) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(
            asset_key=self.asset_key,
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=self.metadata,
            partition=partition,
        )


def string_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> dg.TableMetadataValue:
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns])
    records = [
        dg.TableRecord({c: "" if v is None else str(v) for c, v in zip(columns, row, strict=True)})
        for row in rows[:MAX_LISTED]
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def live_run_ids(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> set[str]:
    """Those of `run_ids` that Dagster still has queued or running."""
    wanted = sorted(set(run_ids))
    if not wanted:
        return set()
    runs = instance.get_runs(RunsFilter(run_ids=wanted, statuses=list(ACTIVE_RUN_STATUSES)))
    return {run.run_id for run in runs}


def state_checks(
    conn: sa.Connection,
    instance: dg.DagsterInstance,
    org: OrgConfig,
    record_type: str,
    asset_key: dg.AssetKey,
    now: datetime,
    finished_run_id: str | None = None,
) -> list[CheckOutcome]:
    """Failed, stuck and old records of one type of one org, as they stand now.

    `finished_run_id` is the run that evaluates the checks at its end: its own in-flight
    records count as stuck, since it sends nothing more.
    """
    failed = org_state.failed_records(conn, org.org_id, record_type, limit=MAX_LISTED)
    counts = org_state.state_counts(conn, org.org_id, record_type)
    in_flight = org_state.in_flight_records(conn, org.org_id, record_type)
    live = live_run_ids(instance, (r.run_id for r in in_flight if r.run_id)) - {finished_run_id}
    stuck = [r for r in in_flight if r.run_id not in live]
    outcomes = [
        CheckOutcome(
            asset_key,
            FAILED_RECORDS,
            passed=counts.failed == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "no failed records"
                if counts.failed == 0
                else f"{counts.failed} failed records wait for attention; first: "
                f"{failed[0].record_id}: {failed[0].error}"
                + (f" ({failed[0].code})" if failed[0].code else "")
            ),
            metadata={
                "failed": dg.MetadataValue.int(counts.failed),
                "failed_records": string_table(
                    ("record_id", "error", "code", "consecutive_failures", "next_attempt_at"),
                    [
                        (
                            f.record_id,
                            f.error,
                            f.code,
                            f.consecutive_failures,
                            f.next_attempt_at and f.next_attempt_at.isoformat(),
                        )
                        for f in failed
                    ],
                ),
            },
        ),
        CheckOutcome(
            asset_key,
            STUCK_IN_FLIGHT,
            passed=not stuck,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "no records stuck in flight"
                if not stuck
                else f"{len(stuck)} records are in flight but no live run is sending them; "
                "the next sync resolves them by lookup in the ledger"
            ),
            metadata={
                "stuck": dg.MetadataValue.int(len(stuck)),
                "in_flight": dg.MetadataValue.int(len(in_flight)),
                "stuck_records": string_table(
                    ("record_id", "run_id", "since"),
                    [(r.record_id, r.run_id, r.since.isoformat()) for r in stuck],
                ),
            },
        ),
    ]
    threshold = org.alerts.pending_hours
    oldest = counts.oldest_not_exported_at
    age_hours = (now - oldest).total_seconds() / 3600 if oldest is not None else 0.0
    too_old = oldest is not None and age_hours > threshold
    outcomes.append(
        CheckOutcome(
            asset_key,
            OLDEST_PENDING,
            passed=not too_old,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "every approval is in the ledger"
                if oldest is None
                else f"oldest approval not in the ledger is {age_hours:.1f} h old (threshold {threshold} h)"
            ),
            metadata={
                "oldest_age_hours": dg.MetadataValue.float(round(age_hours, 2)),
                "threshold_hours": dg.MetadataValue.int(threshold),
                "oldest_approved_at": dg.MetadataValue.text(oldest.isoformat() if oldest else "-"),
                "not_exported": dg.MetadataValue.int(counts.pending + counts.in_flight + counts.failed),
            },
        )
    )
    return outcomes


def reconciliation_check(
    report: ReconciliationReport, record_type: str, asset_key: dg.AssetKey
) -> CheckOutcome:
    """The reconciliation's findings for one record type; keys no record of the org knows go to every type."""
    if report.result is None:
        return CheckOutcome(
            asset_key,
            LEDGER_RECONCILIATION,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"could not reconcile: {report.summary()}",
            metadata={"error": dg.MetadataValue.text(report.error or "")},
        )
    findings = [
        f
        for f in report.result.findings
        if f.record_id is None or report.record_types.get(f.record_id, record_type) == record_type
    ]
    by_kind = {k: sum(1 for f in findings if f.kind == k) for k in ("missing", "duplicated", "unknown")}
    when = report.checked_at.isoformat(timespec="seconds")
    # A sync reports the latest stored reconciliation while it is recent (RECONCILIATION_MAX_AGE):
    # say so, since records this run exported are not in it yet.
    as_of = f" (as of {when}, {report.trigger or 'earlier'} reconciliation)" if report.reused else ""
    return CheckOutcome(
        asset_key,
        LEDGER_RECONCILIATION,
        passed=not findings,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"the ledger reconciles: {report.result.summary()}{as_of}"
            if not findings
            else ", ".join(f"{n} {kind}" for kind, n in by_kind.items() if n) + f" (see findings){as_of}"
        ),
        metadata={
            "reconciled_at": dg.MetadataValue.text(when),
            "reconciled_by": dg.MetadataValue.text(report.trigger or "-"),
            "reconciled_in_this_run": dg.MetadataValue.bool(not report.reused),
            "reconciliation_id": dg.MetadataValue.int(report.reconciliation_id),
            "exported_records_of_org": dg.MetadataValue.int(report.result.expected),
            "ledger_holdings_of_org": dg.MetadataValue.int(report.result.held),
            **{kind: dg.MetadataValue.int(n) for kind, n in by_kind.items()},
            "findings": string_table(
                ("kind", "record_id", "key", "postings", "detail"),
                [(f.kind, f.record_id, f.key, f.postings, f.detail) for f in findings],
            ),
        },
    )
