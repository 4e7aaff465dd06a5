"""The daily ledger checks: reconcile every enabled org and refresh its asset checks without syncing.

A sync evaluates the checks of its own org; an org that nothing syncs (manual only, or quiet)
would keep an old answer. This job reconciles each enabled org's ledger and reports all four
checks of both export assets for the org's partition, so the Dagster UI is at most a day old
for every org. An org with a sync under way is left to that sync: its records are moving.
"""

# No `from __future__ import annotations` here: Dagster reads the op's config annotation at runtime.

import dagster as dg
from dagster._core.storage.dagster_run import RunsFilter

from accsync_pipeline.defs.assets import ASSET_KEYS
from accsync_pipeline.defs.checks import CheckOutcome, reconciliation_check, state_checks
from accsync_pipeline.defs.partitions import ORG_PARTITIONS
from accsync_pipeline.defs.resources import AccsyncDatabase, ConnectorFactory
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.run_tags import ORG_TAG
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.service.launch import ACTIVE_RUN_STATUSES
from accsync_pipeline.service.reconcile import ReconciliationReport, reconcile_org
from accsync_pipeline.store import orgs as org_store

LEDGER_CHECKS_JOB_NAME = "ledger_checks_job"


class LedgerChecksConfig(dg.Config):
    """Without org ids, every enabled org."""

    org_ids: list[str] | None = None


def _sync_under_way(instance: dg.DagsterInstance, org_id: str) -> bool:
    runs = instance.get_runs(RunsFilter(tags={ORG_TAG: org_id}, statuses=list(ACTIVE_RUN_STATUSES)), limit=1)
    return bool(runs)


def _org_outcomes(
    context: dg.OpExecutionContext, db: AccsyncDatabase, connectors: ConnectorFactory, org: OrgConfig
) -> list[CheckOutcome]:
    report: ReconciliationReport | None = None
    try:
        connector = connectors.for_org(org)
        try:
            report = reconcile_org(db.engine, connector, org.org_id, "schedule", context.run_id)
        finally:
            connector.close()
    except Exception as e:  # one org's broken configuration must not stop the others' checks
        context.log.warning(f"{org.org_id}: could not reconcile: {type(e).__name__}: {e}")
    if report is not None:
        context.log.info(f"{org.org_id}: ledger reconciliation: {report.summary()}")
    now = utc_now()
    outcomes: list[CheckOutcome] = []
    with db.engine.connect() as conn:
        for record_type, key in ASSET_KEYS.items():
            outcomes += state_checks(conn, context.instance, org, record_type.value, key, now)
            if report is not None:
                outcomes.append(reconciliation_check(report, record_type.value, key))
    return outcomes


@dg.op(description="Reconcile each enabled org's ledger and report its asset checks for the org's partition.")
def check_ledgers(
    context: dg.OpExecutionContext,
    config: LedgerChecksConfig,
    accsync_db: AccsyncDatabase,
    connectors: ConnectorFactory,
) -> None:
    with accsync_db.engine.connect() as conn:
        orgs = [o for o in org_store.list_orgs(conn) if o.enabled]
    if config.org_ids is not None:
        orgs = [o for o in orgs if o.org_id in config.org_ids]
    partitions = set(context.instance.get_dynamic_partitions(ORG_PARTITIONS))
    for org in orgs:
        if org.org_id not in partitions:
            context.log.info(f"{org.org_id}: no partition yet; the partitions sensor adds it")
            continue
        if _sync_under_way(context.instance, org.org_id):
            context.log.info(f"{org.org_id}: a sync is under way; it evaluates the checks when it ends")
            continue
        for outcome in _org_outcomes(context, accsync_db, connectors, org):
            # log_event's annotation lags its body, which accepts check evaluations.
            context.log_event(outcome.as_evaluation(org.org_id))  # type: ignore[arg-type]


@dg.job(
    name=LEDGER_CHECKS_JOB_NAME,
    description=(
        "Reconcile every enabled organization's ledger with what accsync exported, and refresh "
        "the failed / stuck / oldest-pending / reconciliation checks of each org partition."
    ),
)
def ledger_checks_job() -> None:
    check_ledgers()


ledger_checks_schedule = dg.ScheduleDefinition(
    name="ledger_checks_daily",
    job=ledger_checks_job,
    cron_schedule="30 5 * * *",
    execution_timezone="Europe/Oslo",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Daily at 05:30 Oslo time, after the night's scheduled syncs: reconcile every org's "
        "ledger and refresh its asset checks."
    ),
)
