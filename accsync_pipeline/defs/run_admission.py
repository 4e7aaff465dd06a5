"""The export op's first step: admit the run for one known org, or refuse it before it touches anything.

A refused run gets the tag `accsync/refused=true` and fails with `dg.Failure` whose
description (and metadata `cause`) says why: the failure sensor tells ops, not the org.
"""

from __future__ import annotations

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.run_admission import Admitted, Refused, admit
from accsync_pipeline.domain.run_tags import REFUSED_TAG
from accsync_pipeline.service.dagster_runs import ensure_partition
from accsync_pipeline.store import orgs as org_store


def single_partition(context: dg.AssetExecutionContext) -> str | None:
    """The one org partition the run names; None for no partition or a range of several."""
    if context.has_partition_key:
        return str(context.partition_key)
    if context.has_partition_key_range:
        keys = context.partition_key_range
        return str(keys.start) if keys.start == keys.end else None
    return None


def admit_run(context: dg.AssetExecutionContext, engine: Engine) -> Admitted:
    """Admitted: the org, trigger and user for the sync log (tags added to the run). Refused: dg.Failure."""
    partition_key = single_partition(context)
    exists = False
    if partition_key:
        with engine.connect() as conn:
            exists = org_store.find_org(conn, partition_key) is not None
    decision = admit(context.run.tags, partition_key, exists)
    if isinstance(decision, Refused):
        context.instance.add_run_tags(context.run.run_id, {REFUSED_TAG: "true"})
        context.log.error(decision.message)
        raise dg.Failure(
            description=decision.message,
            metadata={REFUSED_TAG: True, "cause": decision.message},
            allow_retries=False,
        )
    if decision.tags_to_add:
        context.instance.add_run_tags(context.run.run_id, decision.tags_to_add)
    # A run launched before the partition sensor saw a new org (a schedule tick, a launch
    # through GraphQL) names a partition Dagster does not know yet, and Dagster refuses to
    # store its materializations. The org is real: make its partition so.
    assert partition_key is not None  # admitted runs name exactly one known org
    ensure_partition(context.instance, partition_key)
    return decision
