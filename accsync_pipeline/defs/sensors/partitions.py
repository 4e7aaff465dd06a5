"""Keeps the `organization` partitions in step with the configured organizations, without a deploy."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.partitions import ORG_PARTITIONS, organization_partitions
from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.store import orgs as org_store


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 30 s: adds an `organization` partition for each org configured in accsync and "
        "removes the partitions of deleted orgs, so each org has its own partition and checks."
    ),
)
def organization_partitions_sensor(
    context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase
) -> dg.SensorResult:
    """Adds a partition for every new organization and removes those of deleted ones."""
    with accsync_db.engine.connect() as conn:
        configured = {o.org_id for o in org_store.list_orgs(conn)}
    existing = set(context.instance.get_dynamic_partitions(ORG_PARTITIONS))
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if configured - existing:
        requests.append(organization_partitions.build_add_request(sorted(configured - existing)))
    if existing - configured:
        requests.append(organization_partitions.build_delete_request(sorted(existing - configured)))
    if not requests:
        return dg.SensorResult(skip_reason="partitions match the configured organizations")
    return dg.SensorResult(dynamic_partitions_requests=requests)
