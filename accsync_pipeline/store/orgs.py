"""Reading and writing organizations' integration configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.org import AlertThresholds, AutoRetrySettings, OrgConfig, RetrySettings
from accsync_pipeline.domain.schedule import stored_schedule
from accsync_pipeline.store.schema import organizations


class UnknownOrganization(LookupError):
    def __init__(self, org_id: str) -> None:
        super().__init__(f"unknown organization '{org_id}' (see `accsync org list`)")
        self.org_id = org_id


def _from_row(row: sa.Row[Any]) -> OrgConfig:
    # Imported here: the settings models load pydantic, which commands that only read other
    # tables (notifications, history) need not pay for at start.
    from accsync_pipeline.connectors.settings import parse_settings

    m = row._mapping
    return OrgConfig(
        org_id=m["org_id"],
        name=m["name"],
        connector_type=m["connector_type"],
        connector_settings=parse_settings(m["connector_type"], m["connector_settings"] or {}),
        enabled=bool(m["enabled"]),
        timezone=m["timezone"],
        schedule=stored_schedule(m["schedule"] or {"kind": "manual"}),
        record_types=tuple(m["record_types"] or ()),
        sync_on_approval=bool(m["sync_on_approval"]),
        retry=RetrySettings(m["retry_max_retries"], m["retry_base_delay_seconds"]),
        auto_retry=AutoRetrySettings(m["auto_retry_base_seconds"], m["auto_retry_max_seconds"]),
        alerts=AlertThresholds(
            m["alert_consecutive_failures"],
            m["alert_error_threshold"],
            m["alert_error_window_hours"],
            m["alert_pending_hours"],
        ),
    )


def _to_values(org: OrgConfig) -> dict[str, Any]:
    return {
        "name": org.name,
        "connector_type": org.connector_type,
        "connector_settings": org.connector_settings.stored(),
        "enabled": org.enabled,
        "timezone": org.timezone,
        "schedule": org.schedule.to_spec(),
        "record_types": list(org.record_types),
        "sync_on_approval": org.sync_on_approval,
        "retry_max_retries": org.retry.max_retries,
        "retry_base_delay_seconds": org.retry.base_delay_seconds,
        "auto_retry_base_seconds": org.auto_retry.base_seconds,
        "auto_retry_max_seconds": org.auto_retry.max_seconds,
        "alert_consecutive_failures": org.alerts.consecutive_failures,
        "alert_error_threshold": org.alerts.error_threshold,
        "alert_error_window_hours": org.alerts.error_window_hours,
        "alert_pending_hours": org.alerts.pending_hours,
    }


def list_orgs(conn: sa.Connection) -> list[OrgConfig]:
    rows = conn.execute(sa.select(organizations).order_by(organizations.c.org_id))
    return [_from_row(r) for r in rows]


def find_org(conn: sa.Connection, org_id: str) -> OrgConfig | None:
    row = conn.execute(sa.select(organizations).where(organizations.c.org_id == org_id)).first()
    return _from_row(row) if row else None


def find_orgs(conn: sa.Connection, org_ids: Sequence[str]) -> list[OrgConfig]:
    """The given orgs that exist, ordered by org id, in one query."""
    query = sa.select(organizations).where(organizations.c.org_id.in_(sorted(set(org_ids))))
    return [_from_row(r) for r in conn.execute(query.order_by(organizations.c.org_id))]


def get_org(conn: sa.Connection, org_id: str) -> OrgConfig:
    org = find_org(conn, org_id)
    if org is None:
        raise UnknownOrganization(org_id)
    return org


def insert_org(conn: sa.Connection, org: OrgConfig, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    conn.execute(
        organizations.insert().values(org_id=org.org_id, created_at=now, updated_at=now, **_to_values(org))
    )


def update_org(conn: sa.Connection, org: OrgConfig, now: datetime | None = None) -> None:
    result = conn.execute(
        organizations.update()
        .where(organizations.c.org_id == org.org_id)
        .values(updated_at=now or datetime.now(UTC), **_to_values(org))
    )
    if result.rowcount == 0:
        raise UnknownOrganization(org.org_id)


def lock_org(conn: sa.Connection, org_id: str) -> None:
    """Lock the org's row until commit, so that concurrent editors do not clash."""
    conn.execute(sa.select(organizations.c.org_id).where(organizations.c.org_id == org_id).with_for_update())


def created_at(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, datetime]:
    """When each org (the given ones, or all) was added."""
    query = sa.select(organizations.c.org_id, organizations.c.created_at)
    if org_ids is not None:
        query = query.where(organizations.c.org_id.in_(list(org_ids)))
    return {org_id: at for org_id, at in conn.execute(query)}


def settings_updated_at(conn: sa.Connection, org_id: str) -> datetime | None:
    """When the org's settings row last changed."""
    return conn.execute(
        sa.select(organizations.c.updated_at).where(organizations.c.org_id == org_id)
    ).scalar()
