"""Restoring accsync's database from an older backup never posts a record twice.

A restore makes the database forget what it exported since the backup: records the ledger
holds show as pending again. Every record is looked up in the ledger before it is sent, so
the next sync finds them there and marks them exported without sending them.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.schema import metadata, record_sync_state
from accsync_pipeline_tests.defs.test_sync_pipeline import statuses
from accsync_pipeline_tests.factories import NOW, add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.ledger_counts import records_in_ledger
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings, xledger_settings

Backup = dict[str, list[dict[str, Any]]]


def back_up(engine: Engine) -> Backup:
    """Every row of every accsync table, as a logical backup holds them."""
    with engine.connect() as conn:
        return {
            t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in metadata.sorted_tables
        }


def restore(engine: Engine, backup: Backup) -> None:
    """Replace the whole database by `backup`, children first when deleting, parents first when inserting."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        for table in metadata.sorted_tables:
            if backup[table.name]:
                conn.execute(table.insert(), backup[table.name])


@pytest.fixture(params=["dynamics", "xledger"])
def org_on_sandbox(request: pytest.FixtureRequest) -> tuple[str, RunningSandbox, dict[str, object]]:
    if request.param == "xledger":
        sandbox = request.getfixturevalue("xledger_sandbox")
        return "xledger", sandbox, xledger_settings(sandbox)
    sandbox = request.getfixturevalue("dynamics_sandbox")
    return "dynamics", sandbox, dynamics_settings(sandbox)


def org_with_records(
    engine: Engine, connector_type: str, settings: dict[str, object], count: int
) -> list[str]:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", connector_type, settings))
        return add_sources(conn, "acme", count, prefix="A")


def sync(instance: dg.DagsterInstance, trigger: str) -> None:
    _, success = in_process.run_sync(instance, SyncRequest("acme", trigger))
    assert success


def test_a_sync_after_restoring_an_older_backup_posts_nothing_twice(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    org_on_sandbox: tuple[str, RunningSandbox, dict[str, object]],
) -> None:
    connector_type, sandbox, settings = org_on_sandbox
    first = org_with_records(engine, connector_type, settings, 30)
    sync(dagster_instance, "manual")
    backup = back_up(engine)  # taken after the first sync: these 30 are exported in it

    with engine.begin() as conn:
        second = add_sources(conn, "acme", 20, prefix="B")
    sync(dagster_instance, "schedule")
    assert records_in_ledger(sandbox, connector_type, "acme", first + second) == dict.fromkeys(
        first + second, 1
    )

    restore(engine, backup)  # the B records are gone from the database, still in the source and ledger
    with engine.begin() as conn:
        add_sources(conn, "acme", 20, prefix="B")
    sync(dagster_instance, "schedule")

    assert records_in_ledger(sandbox, connector_type, "acme", first + second) == dict.fromkeys(
        first + second, 1
    )
    assert statuses(engine, "acme") == {"exported": 50}
    with engine.connect() as conn:
        external_ids = conn.execute(
            sa.select(record_sync_state.c.record_id, record_sync_state.c.external_id).where(
                record_sync_state.c.record_id.in_(second)
            )
        ).all()
    assert len(external_ids) == 20 and all(external for _, external in external_ids)


def test_a_backup_taken_mid_sync_with_records_in_flight_posts_nothing_twice(
    engine: Engine,
    accsync_env: str,
    dagster_instance: dg.DagsterInstance,
    org_on_sandbox: tuple[str, RunningSandbox, dict[str, object]],
) -> None:
    """The backup knows the records as pending or in flight; the ledger already holds some of them."""
    connector_type, sandbox, settings = org_on_sandbox
    ids = org_with_records(engine, connector_type, settings, 40)
    backup = back_up(engine)  # before any sync: nothing exported, nothing taken in
    sync(dagster_instance, "manual")

    restore(engine, backup)
    with engine.begin() as conn:  # as if the backup had caught five records in flight
        record_store.intake(conn, "acme", NOW)
        record_store.mark_in_flight(conn, ids[:5], "an-earlier-run", NOW)
    sync(dagster_instance, "manual")

    assert records_in_ledger(sandbox, connector_type, "acme", ids) == dict.fromkeys(ids, 1)
    assert statuses(engine, "acme") == {"exported": 40}
