"""Changing an organization's integration configuration: the one way the CLI, the API and the screens do it.

Each operation validates everything first and raises `ConfigError` listing every problem by
field, so nothing half-valid is ever saved. `save_change` runs one in a transaction and then,
when the change `affects_dagster`, tells Dagster after the commit, so that Dagster reads the
saved configuration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.base import ConnectionCheck
from accsync_pipeline.connectors.errors import ConnectorError
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.domain.org import (
    ALL_RECORD_TYPES,
    DEFAULT_TIMEZONE,
    AlertThresholds,
    AutoRetrySettings,
    ConnectorType,
    OrgConfig,
    RetrySettings,
)
from accsync_pipeline.domain.schedule import Schedule
from accsync_pipeline.service.errors import Problem
from accsync_pipeline.service.org_settings import (
    ConfigError,
    check_alerts,
    check_auto_retry,
    check_connector_settings,
    check_connector_type,
    check_name,
    check_org_id,
    check_record_types,
    check_retry,
    check_timezone,
    merge_settings,
    normalise_connector_settings,
    parse_schedule,
    raise_if_any,
)
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import records as record_store

if TYPE_CHECKING:  # Dagster's client is imported only by the callers that tell Dagster
    from accsync_pipeline.service.dagster_sync import DagsterUpdate

__all__ = [
    "ConfigChange",
    "ConfigError",
    "add_org",
    "set_enabled",
    "test_connection",
    "update_integration",
    "update_sync_settings",
]


@dataclass(frozen=True)
class ConfigChange:
    """An org's configuration before (None for a new org) and after a saved change."""

    before: OrgConfig | None
    after: OrgConfig

    @property
    def affects_dagster(self) -> bool:
        """Whether Dagster's partitions or schedules depend on what changed."""
        b = self.before
        return b is None or (b.enabled, b.schedule, b.timezone, b.name) != (
            self.after.enabled,
            self.after.schedule,
            self.after.timezone,
            self.after.name,
        )


def add_org(
    conn: sa.Connection,
    org_id: str,
    name: str,
    connector_type: str,
    settings: Mapping[str, Any],
    timezone: str = DEFAULT_TIMEZONE,
    enabled: bool = True,
    schedule_spec: Mapping[str, object] | Schedule | None = None,
    record_types: Iterable[str] = ALL_RECORD_TYPES,
    sync_on_approval: bool = False,
) -> ConfigChange:
    """Create an organization's integration; every problem is reported at once and nothing is saved."""
    problems = check_org_id(org_id) + check_name(name) + check_connector_type(connector_type)
    problems += check_timezone(timezone)
    if not problems and org_store.find_org(conn, org_id) is not None:
        problems.append(("org_id", f"organization '{org_id}' already exists"))
    if not check_connector_type(connector_type):
        problems += check_connector_settings(connector_type, settings)
    types, type_problems = check_record_types(record_types)
    problems += type_problems
    schedule_problems: list[Problem] = []
    try:
        schedule = parse_schedule(schedule_spec or {"kind": "manual"})
    except ConfigError as e:
        schedule_problems = e.problems
    raise_if_any(problems + schedule_problems)
    org = OrgConfig(
        org_id=org_id,
        name=name.strip(),
        connector_type=ConnectorType(connector_type),
        connector_settings=normalise_connector_settings(connector_type, settings),
        enabled=enabled,
        timezone=timezone,
        schedule=schedule,
        record_types=types,
        sync_on_approval=sync_on_approval,
    )
    try:
        org_store.insert_org(conn, org)
    except sqlalchemy.exc.IntegrityError:
        raise ConfigError([("org_id", f"organization '{org_id}' already exists")]) from None
    return ConfigChange(None, org)


def _current(conn: sa.Connection, org_id: str) -> OrgConfig:
    """The org's configuration, its row locked until commit so that concurrent editors do not clash."""
    org_store.lock_org(conn, org_id)
    return org_store.get_org(conn, org_id)


def _save(conn: sa.Connection, before: OrgConfig, after: OrgConfig) -> ConfigChange:
    if after != before:
        org_store.update_org(conn, after)
    return ConfigChange(before, after)


def update_integration(
    conn: sa.Connection,
    org_id: str,
    settings_changes: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    connector_type: str | None = None,
    name: str | None = None,
) -> ConfigChange:
    """Change connector settings (a value of None removes the key), the connector type, name or enabled.

    Switching the connector type starts from empty settings: the other system's settings do not apply.
    """
    before = _current(conn, org_id)
    new_type = connector_type or before.connector_type
    raise_if_any(check_connector_type(new_type) + (check_name(name) if name is not None else []))
    base = before.connector_settings.stored() if new_type == before.connector_type else {}
    merged = {**base, **(settings_changes or {})}
    settings = {k: v for k, v in merged.items() if v is not None}
    after = dataclasses.replace(
        before,
        connector_type=ConnectorType(new_type),
        connector_settings=normalise_connector_settings(new_type, settings),
        enabled=before.enabled if enabled is None else enabled,
        name=before.name if name is None else name.strip(),
    )
    return _save(conn, before, after)


def set_enabled(conn: sa.Connection, org_id: str, enabled: bool) -> ConfigChange:
    """Enable or disable an org's integration; a disabled org is synced by nothing, manual or automatic."""
    before = _current(conn, org_id)
    return _save(conn, before, dataclasses.replace(before, enabled=enabled))


def update_sync_settings(
    conn: sa.Connection,
    org_id: str,
    schedule_spec: Mapping[str, object] | Schedule | None = None,
    record_types: Iterable[str] | None = None,
    retry: RetrySettings | Mapping[str, object] | None = None,
    auto_retry: AutoRetrySettings | Mapping[str, object] | None = None,
    alerts: AlertThresholds | Mapping[str, object] | None = None,
    sync_on_approval: bool | None = None,
    timezone: str | None = None,
) -> ConfigChange:
    """Change when and what an org syncs; None leaves a setting as it is. Mappings change some fields."""
    before = _current(conn, org_id)
    problems: list[Problem] = []
    schedule = before.schedule
    if schedule_spec is not None:
        try:
            schedule = parse_schedule(schedule_spec)
        except ConfigError as e:
            problems += e.problems
    types = before.record_types
    if record_types is not None:
        types, type_problems = check_record_types(record_types)
        problems += type_problems
    new_retry, p_retry = merge_settings("retry", before.retry, retry or {})
    new_auto, p_auto = merge_settings("auto_retry", before.auto_retry, auto_retry or {})
    new_alerts, p_alerts = merge_settings("alerts", before.alerts, alerts or {})
    problems += p_retry + p_auto + p_alerts
    problems += check_retry(new_retry) + check_auto_retry(new_auto) + check_alerts(new_alerts)
    if timezone is not None:
        problems += check_timezone(timezone)
    raise_if_any(problems)
    after = dataclasses.replace(
        before,
        schedule=schedule,
        record_types=types,
        retry=new_retry,
        auto_retry=new_auto,
        alerts=new_alerts,
        sync_on_approval=before.sync_on_approval if sync_on_approval is None else sync_on_approval,
        timezone=before.timezone if timezone is None else timezone,
    )
    newly_included = [t for t in after.record_types if t not in before.record_types]
    record_store.reopen_type_skips(conn, org_id, newly_included, datetime.now(UTC))
    return _save(conn, before, after)


def test_connection(org: OrgConfig) -> ConnectionCheck:
    """Authenticate and make one harmless read; the message says in one line what is wrong."""
    try:
        connector = connector_for(org.connector_type, org.connector_settings)
    except ConnectorError as e:  # missing secret variable, settings saved by an older version
        return ConnectionCheck(ok=False, message=str(e))
    try:
        return connector.test_connection()
    except Exception as e:  # a check answers; it never crashes the screen that asked
        return ConnectionCheck(
            ok=False, message=f"unexpected {type(e).__name__} while testing the connection"
        )
    finally:
        connector.close()


# pytest would otherwise collect the service function as a test when a test module imports it.
test_connection.__test__ = False  # type: ignore[attr-defined]


def save_change(
    engine: Engine,
    apply: Callable[[str], DagsterUpdate],
    operation: Callable[[sa.Connection], ConfigChange],
) -> tuple[ConfigChange, DagsterUpdate | None]:
    """Run one configuration operation in one transaction, then tell Dagster if it must know.

    A `ConfigError` saves nothing. Dagster is told after the commit, so that it reads the saved
    configuration, and only when the change touches its partitions or schedules; what it made
    of the change comes back (None when it was not told).
    """
    with engine.begin() as conn:
        change = operation(conn)
    return change, apply(change.after.org_id) if change.affects_dagster else None
