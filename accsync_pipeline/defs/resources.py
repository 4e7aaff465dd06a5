"""Resources: the accsync database and the factory that builds an org's connector."""

from __future__ import annotations

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.base import Connector
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.store.engine import create_engine, database_url

# One engine (and its connection pool) per database per process, shared by every op and sensor.
_ENGINES: dict[str, Engine] = {}


def shared_engine(url: str | None = None) -> Engine:
    key = url or database_url()
    if key not in _ENGINES:
        _ENGINES[key] = create_engine(key)
    return _ENGINES[key]


class AccsyncDatabase(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The accsync database. Without a URL, `ACCSYNC_DATABASE_URL` or the embedded SQLite file."""

    url: str | None = None

    @property
    def engine(self) -> Engine:
        return shared_engine(self.url)


class ConnectorFactory(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Builds the connector an org's configuration names; secrets come from the environment."""

    def for_org(self, org: OrgConfig) -> Connector:
        """The org's connector, dating postings in the org's timezone."""
        return connector_for(org.connector_type, org.connector_settings, bookkeeping_timezone=org.timezone)
