"""One dynamic partition per organization; the key is the org slug."""

from __future__ import annotations

import dagster as dg

organization_partitions = dg.DynamicPartitionsDefinition(name="organization")
