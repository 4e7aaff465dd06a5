"""Where the accsync database is and how to connect to it (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

DEFAULT_SQLITE_PATH = Path(".accsync") / "accsync.db"


def database_url() -> str:
    """`ACCSYNC_DATABASE_URL`, or the embedded SQLite file under `.accsync/`."""
    url = os.environ.get("ACCSYNC_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH.resolve()}"


def redact_url(url: str) -> str:
    """The URL with its password hidden, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Several processes write (Dagster runs, sensors, the admin service): WAL lets readers
    # proceed during a write, and the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str | None = None) -> Engine:
    """An engine for the accsync database; creates the SQLite file's folder when needed."""
    parsed = make_url(url or database_url())
    if parsed.drivername == "postgresql":
        # Dagster's PostgreSQL storage uses psycopg2; one driver for both keeps one dependency.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
