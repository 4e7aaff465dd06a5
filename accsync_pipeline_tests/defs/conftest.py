"""A Dagster instance per test, with SQLite or PostgreSQL storage to match the accsync database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from accsync_pipeline.store.engine import create_engine
from accsync_pipeline_tests.conftest import POSTGRES_URL
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    _xledger_server,
    dynamics_sandbox,
    sandbox_secrets,
    xledger_sandbox,
)


@pytest.fixture
def dagster_instance(database_url: str) -> Iterator[dg.DagsterInstance]:
    """Dagster's storage on the same kind of database as the accsync one (its own schema on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        with dg.instance_for_test() as instance:
            yield instance
        return
    schema = f"d_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; Dagster's storage uses psycopg2.
    url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    overrides = {"storage": {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}}}
    try:
        with dg.instance_for_test(overrides=overrides) as instance:
            yield instance
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _approval_ticks_look_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests tick the approval sensor by hand: a tick with nothing to launch looks once instead of
    waiting for approvals up to its bound (the tests of that wait set their own)."""
    monkeypatch.setenv("ACCSYNC_APPROVAL_LONG_POLL_SECONDS", "0")
