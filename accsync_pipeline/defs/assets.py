"""Export assets: one per record type, partitioned by organization, computed by one subsettable op.

One op exports both record types of an org so that a run holds one connector (one token,
one connection pool, one concurrency budget against the accounting system) and knows when
the whole sync ended.
"""

# No `from __future__ import annotations` here: Dagster reads the op's config annotation at runtime.

import time
from collections.abc import Iterator
from typing import NoReturn

import dagster as dg

from accsync_pipeline.connectors.errors import ConnectorError, RetriableError
from accsync_pipeline.defs.checks import check_specs
from accsync_pipeline.defs.lineage import APPROVED_RECORDS, OWNERS
from accsync_pipeline.defs.partitions import organization_partitions
from accsync_pipeline.defs.resources import AccsyncDatabase, ConnectorFactory
from accsync_pipeline.defs.run_admission import admit_run
from accsync_pipeline.defs.sync_report import SyncEvent, ledger_reconciler, sync_results
from accsync_pipeline.domain.alert_model import CONNECTOR_LABELS
from accsync_pipeline.domain.failures import exception_in_words, run_failure_description
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import RecordType
from accsync_pipeline.service.export import RunContext, export_org, utc_now
from accsync_pipeline.service.heartbeat import Heartbeat, this_worker
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import runs as run_store

ASSET_KEYS = {
    RecordType.REIMBURSEMENT: dg.AssetKey("reimbursements"),
    RecordType.HONORARIUM: dg.AssetKey("honorariums"),
}
RECORD_TYPE_OF = {key: record_type for record_type, key in ASSET_KEYS.items()}


class SyncConfig(dg.Config):
    """Optional narrowing of one sync run."""

    record_ids: list[str] | None = None
    record_types: list[str] | None = None


@dg.multi_asset(
    name="export_approved_records",
    specs=[
        dg.AssetSpec(
            key,
            description=f"Approved {record_type.value} records of an organization, posted to its ledger.",
            group_name="accsync",
            skippable=True,
            deps=[APPROVED_RECORDS],
            kinds={"python", "sql"},
            owners=OWNERS,
        )
        for record_type, key in ASSET_KEYS.items()
    ],
    check_specs=check_specs(ASSET_KEYS.values()),
    partitions_def=organization_partitions,
    can_subset=True,
)
def export_approved_records(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    accsync_db: AccsyncDatabase,
    connectors: ConnectorFactory,
) -> Iterator[SyncEvent]:
    """Export the organization's pending approved records through its connector."""
    engine = accsync_db.engine
    # Refuses (before anything is written) a run with no partition, an unknown org or contradicting tags.
    admitted = admit_run(context, engine)
    org_id, trigger, user_id = admitted.org_id, admitted.trigger, admitted.user_id
    with engine.begin() as conn:
        org = org_store.get_org(conn, org_id)
        run_store.start_run(conn, context.run.run_id, org_id, trigger, user_id, utc_now(), this_worker())
    Heartbeat.keep(engine, context.run.run_id)  # the liveness sensor ends the run if this process dies
    # Types the org's sync excludes are still read, so that their records are skipped with
    # that reason (visible in the sync log) instead of waiting in the queue unexplained.
    wanted = [RECORD_TYPE_OF[k].value for k in context.selected_asset_keys]
    if config.record_types is not None:
        wanted = [t for t in wanted if t in config.record_types]
    started = time.monotonic()
    try:
        # Building the connector reads its secret: a missing variable fails here, in words.
        connector = connectors.for_org(org)
        try:
            summaries = export_org(
                engine, connector, org, RunContext(context.run.run_id, trigger), wanted, config.record_ids
            )
        finally:
            connector.close()
    except RetriableError as e:
        _retry_or_fail(context, accsync_db, org, e)
    except Exception as e:  # fatal, configuration, database, or a bug: the run ends, saying why
        _fail(context, accsync_db, org, e)
    _finish(accsync_db, context.run.run_id, "success", None)
    seconds = time.monotonic() - started
    # Metadata with the org's state now, the four checks per record type, and run tags.
    reconciler = ledger_reconciler(engine, connectors, org, context.run.run_id)
    yield from sync_results(
        context, engine, org, {t: summaries[t] for t in wanted}, seconds, ASSET_KEYS, reconciler, utc_now()
    )


def _finish(db: AccsyncDatabase, run_id: str, status: str, error: str | None) -> None:
    with db.engine.begin() as conn:
        run_store.finish_run(conn, run_id, status, utc_now(), error)


def _retry_or_fail(
    context: dg.AssetExecutionContext, db: AccsyncDatabase, org: OrgConfig, error: RetriableError
) -> NoReturn:
    """Whole-batch transient failure: retry with exponential backoff, by the org's own settings."""
    attempt = context.retry_number
    if attempt < org.retry.max_retries:
        wait = org.retry.base_delay_seconds * 2**attempt
        if error.retry_after is not None:
            wait = max(wait, int(error.retry_after))
        context.log.warning(
            f"transient failure, retry {attempt + 1} of {org.retry.max_retries} in {wait}s: {error}"
        )
        raise dg.RetryRequested(max_retries=org.retry.max_retries, seconds_to_wait=wait) from error
    _fail(context, db, org, error)


def _fail(
    context: dg.AssetExecutionContext, db: AccsyncDatabase, org: OrgConfig, error: Exception
) -> NoReturn:
    """End the run for good: the sync log row keeps its counts and gets the root cause in words."""
    cause = exception_in_words(error, (ConnectorError,))
    retries = context.retry_number
    try:
        _finish(db, context.run.run_id, "failure", cause)
    except Exception as e:  # the database may be the cause; the failure sensor closes the row later
        context.log.error(f"could not record the failure in the sync log: {exception_in_words(e)}")
    connector = CONNECTOR_LABELS.get(org.connector_type, org.connector_type)
    raise dg.Failure(
        description=run_failure_description(connector, org.org_id, cause, retries),
        metadata={"org": org.org_id, "connector": org.connector_type, "cause": cause, "retries": retries},
        allow_retries=False,
    ) from error
