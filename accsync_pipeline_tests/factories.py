"""Test data: source records as the app writes them, and orgs pointed at a running sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.org import OrgConfig, RetrySettings, User
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.schema import approved_records

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def source_row(record_id: str, org_id: str = "hlf", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_id": record_id,
        "org_id": org_id,
        "record_type": "reimbursement",
        "person_id": "P1",
        "person_name": "Kari Nordmann",
        "employee_number": "20001",
        "amount": Decimal("1234.50"),
        "currency": "NOK",
        "expense_account": "7140",
        "description": "Reise",
        "expense_date": NOW.date(),
        "approved_at": NOW - timedelta(hours=1),
        "approved_by": "approver",
        "updated_at": NOW - timedelta(hours=1),
    }
    row.update(overrides)
    return row


def add_source(conn: sa.Connection, record_id: str, org_id: str = "hlf", **overrides: Any) -> None:
    conn.execute(approved_records.insert().values(**source_row(record_id, org_id, **overrides)))


def add_sources(
    conn: sa.Connection, org_id: str, count: int, prefix: str = "R", **overrides: Any
) -> list[str]:
    ids = [f"{prefix}{i:05d}" for i in range(count)]
    conn.execute(approved_records.insert(), [source_row(rid, org_id, **overrides) for rid in ids])
    return ids


def sandbox_org(
    org_id: str, connector_type: str, settings: dict[str, Any], retry_delay_seconds: int = 0, **overrides: Any
) -> OrgConfig:
    """An org whose connector points at a test sandbox; whole-batch retries without long pauses."""
    values: dict[str, Any] = {
        "org_id": org_id,
        "name": org_id.upper(),
        "connector_type": connector_type,
        "connector_settings": settings,
        "retry": RetrySettings(max_retries=3, base_delay_seconds=retry_delay_seconds),
    }
    values.update(overrides)
    return OrgConfig(**values)


def add_org_with_admin(conn: sa.Connection, org: OrgConfig) -> User:
    org_store.insert_org(conn, org, NOW)
    admin = User(
        f"{org.org_id}.admin", f"{org.org_id} admin", f"admin@{org.org_id}.example", "org_admin", org.org_id
    )
    user_store.insert_user(conn, admin)
    return admin
