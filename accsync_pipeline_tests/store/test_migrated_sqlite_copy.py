"""The per-test copy of the session's migrated SQLite file is the database a fresh upgrade builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import head_revision, upgrade
from accsync_pipeline_tests.conftest import copy_migrated_sqlite


def _everything(engine: Engine) -> dict[str, Any]:
    """Every table, column, index and trigger as SQLite stores its DDL, every row, and the file's settings."""
    with engine.connect() as conn:
        ddl = conn.execute(
            sa.text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        ).all()
        rows = {
            name: sorted(conn.execute(sa.text(f'SELECT * FROM "{name}"')).all(), key=repr)
            for (kind, name, _table, _sql) in ddl
            if kind == "table" and not name.startswith("sqlite_")
        }
        # The one value a migration takes from the clock: when the database started using the
        # current keys (migration 0007). A copy keeps its template's instant, earlier than a fresh one.
        if "ledger_key_schemes" in rows:
            rows["ledger_key_schemes"] = [(scheme,) for scheme, _since in rows["ledger_key_schemes"]]
        settings = {
            pragma: conn.execute(sa.text(f"PRAGMA {pragma}")).scalar()
            for pragma in ("journal_mode", "user_version", "foreign_keys")
        }
    return {"ddl": ddl, "rows": rows, "settings": settings}


def test_a_copy_of_the_template_is_a_freshly_upgraded_database(
    migrated_sqlite_template: Path, tmp_path: Path
) -> None:
    fresh = create_engine(f"sqlite:///{tmp_path}/fresh.db")
    upgrade(fresh)
    copy_url = f"sqlite:///{tmp_path}/copy.db"
    copy_migrated_sqlite(migrated_sqlite_template, copy_url)
    copy = create_engine(copy_url)
    try:
        expected, actual = _everything(fresh), _everything(copy)
        assert any(kind == "index" for (kind, *_rest) in actual["ddl"])
        assert actual["rows"]["alembic_version"] == [(head_revision(),)]
        assert actual == expected
        # The copy is a database of its own: writing to it leaves the template as it was.
        with copy.begin() as conn:
            conn.execute(sa.text("CREATE TABLE scratch (x INTEGER)"))
        template = create_engine(f"sqlite:///{migrated_sqlite_template}")
        try:
            assert _everything(template) == expected
        finally:
            template.dispose()
    finally:
        fresh.dispose()
        copy.dispose()
