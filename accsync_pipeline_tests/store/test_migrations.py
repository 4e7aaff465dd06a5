"""The migrations build the same schema on SQLite and PostgreSQL, and it is the schema the code uses."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline.store.schema import metadata

GENERIC = {
    "VARCHAR": "string",
    "TEXT": "text",
    "INTEGER": "integer",
    "NUMERIC": "numeric",
    "DATETIME": "datetime",
    "TIMESTAMP": "datetime",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "JSON": "json",
}


def _generic(column_type: Any) -> str:
    name = type(column_type).__name__.upper()
    for key, value in GENERIC.items():
        if key in name:
            return value
    return name


def describe_schema(engine: Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    tables = {}
    for table in sorted(inspector.get_table_names()):
        columns = {
            c["name"]: (_generic(c["type"]), c["nullable"], getattr(c["type"], "length", None))
            for c in inspector.get_columns(table)
        }
        # PostgreSQL also lists the index behind each unique constraint; those are compared as constraints.
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
            if not i.get("duplicates_constraint")
        )
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        fks = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(table)
        )
        tables[table] = {"columns": columns, "indexes": indexes, "uniques": uniques, "pk": pk, "fks": fks}
    return tables


def test_sqlite_and_postgres_get_the_same_schema(sqlite_url: str, postgres_schema_url: str) -> None:
    schemas = []
    for url in (sqlite_url, postgres_schema_url):
        engine = create_engine(url)
        upgrade(engine)
        schemas.append(describe_schema(engine))
        engine.dispose()
    sqlite_schema, postgres_schema = schemas
    assert set(sqlite_schema) == set(postgres_schema)
    for table in sqlite_schema:
        assert sqlite_schema[table] == postgres_schema[table], table
    assert "approved_records" in sqlite_schema and "record_sync_state" in sqlite_schema


def test_migrations_match_the_tables_the_code_uses(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    before = describe_schema(engine)
    upgrade(engine)
    assert describe_schema(engine) == before


def test_every_sensor_and_status_query_has_its_index(engine: Engine) -> None:
    indexed = {
        (table, cols) for table, info in describe_schema(engine).items() for _, cols, _ in info["indexes"]
    }
    for needed in [
        ("record_sync_state", ("org_id", "status", "record_type")),
        ("record_sync_state", ("status", "next_attempt_at")),
        ("approved_records", ("updated_at", "record_id")),
        ("sync_attempts", ("org_id", "outcome", "attempted_at")),
        ("notifications", ("user_id", "read_at")),
        ("sync_runs", ("org_id", "started_at")),
    ]:
        assert needed in indexed, needed
