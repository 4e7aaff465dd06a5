"""One dynamic partition per organization; the key is the org slug."""

from __future__ import annotations

import dagster as dg

# The partitions definition's name, as run storage and the GraphQL API address it.
ORG_PARTITIONS = "organization"
organization_partitions = dg.DynamicPartitionsDefinition(name=ORG_PARTITIONS)
