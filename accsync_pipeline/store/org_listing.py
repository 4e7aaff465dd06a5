"""What the list of every organization shows about each: a narrow read of `organizations`.

The global list sorts and filters a thousand orgs by health on every refresh; reading whole
configurations (connector settings, record types, thresholds) for that was most of its cost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from accsync_pipeline.store.schema import organizations

ORG = organizations


@dataclass(frozen=True)
class OrgListing:
    org_id: str
    name: str
    connector_type: str
    enabled: bool
    timezone: str
    schedule_json: str  # the stored spec as text: orgs share a few specs, each parsed once by its reader
    created_at: datetime

    @property
    def schedule_kind(self) -> str:
        """The schedule's kind as `store.orgs` reads it (`StoredSchedule.kind`), without parsing the rest."""
        # Valid and invalid specs alike show their stored kind; an empty or null spec is manual.
        spec = json.loads(self.schedule_json) or {"kind": "manual"}
        return str(spec.get("kind"))


def org_listings(conn: sa.Connection, org_ids: Sequence[str] | None = None) -> list[OrgListing]:
    """The given orgs (all when None), ordered by org id, with what health and the list need."""
    query = sa.select(
        ORG.c.org_id,
        ORG.c.name,
        ORG.c.connector_type,
        ORG.c.enabled,
        ORG.c.timezone,
        sa.cast(ORG.c.schedule, sa.Text),
        ORG.c.created_at,
    ).order_by(ORG.c.org_id)
    if org_ids is not None:
        query = query.where(ORG.c.org_id.in_(list(org_ids)))
    return [
        OrgListing(org_id, name, connector, bool(enabled), timezone, schedule or "{}", created)
        for org_id, name, connector, enabled, timezone, schedule, created in conn.execute(query)
    ]
