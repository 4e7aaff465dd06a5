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


class DatabaseUnavailable(RuntimeError):
    """The accsync database is missing, unreadable or not migrated; the message says which, in one line."""


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _watch_sqlite_file(engine: Engine, path: str) -> None:
    """Never serve a deleted or replaced SQLite file from a pooled connection.

    A connection keeps the file it opened even after the file is deleted: writes then "succeed"
    into a file nobody will read again. Each checkout compares the file on disk with the one the
    connection opened; a replaced file gets a fresh connection, a missing one an error (a new
    connection would silently create an empty database).
    """

    def remember(_dbapi_connection: Any, record: Any) -> None:
        record.info["accsync_file"] = _file_identity(path)

    def check(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        current = _file_identity(path)
        if current is None:
            raise DatabaseUnavailable(
                f"the accsync database file {path} is missing: "
                "restore it, or run `accsync db upgrade` to create an empty one"
            )
        if record.info.get("accsync_file") != current:
            raise sa.exc.DisconnectionError("the accsync database file was replaced")

    sa.event.listen(engine, "connect", remember)
    sa.event.listen(engine, "checkout", check)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Several processes write (Dagster runs, sensors, the admin service): WAL lets readers
    # proceed during a write, and the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # SQLite's own lower() knows only ASCII: searching "øvrebø" must find "Øvrebø", as on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def create_engine(url: str | None = None) -> Engine:
    """An engine for the accsync database; creates the SQLite file's folder when needed."""
    try:
        parsed = make_url(url or database_url())
    except sa.exc.ArgumentError:
        raise DatabaseUnavailable(
            "ACCSYNC_DATABASE_URL is not a database URL (e.g. postgresql://user@host/db or sqlite:///path)"
        ) from None
    if parsed.drivername == "postgresql":
        # Dagster's PostgreSQL storage uses psycopg2; one driver for both keeps one dependency.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database if parsed.database and parsed.database != ":memory:" else None
        if path:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise DatabaseUnavailable(
                    f"cannot create the folder of the accsync database {path}: {e.strerror or e}; "
                    "set ACCSYNC_DATABASE_URL to a writable place"
                ) from None
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if path:
            _watch_sqlite_file(engine, path)
        return engine
    return sa.create_engine(_without_jit(parsed), pool_pre_ping=True, pool_size=5, max_overflow=5)


def _without_jit(url: sa.URL) -> sa.URL:
    """The URL with PostgreSQL's JIT compiler turned off for accsync's sessions.

    accsync's queries are short reads over large tables; their estimated cost trips the JIT, whose
    compiling then costs more than the query (the alert sensor's recheck: 170 ms of JIT for a
    450 ms query on a million records). Options already in the URL (a search_path) are kept.
    """
    given = url.query.get("options")
    kept = [given] if isinstance(given, str) else list(given or ())
    return url.update_query_dict({"options": " ".join([*kept, "-c jit=off"])})


def schema_problem(conn: sa.Connection) -> str | None:
    """Why this database is not an accsync database at the current migration, or None when it is."""
    from accsync_pipeline.store.migrate import head_revision

    try:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        conn.rollback()
        return "has no accsync tables: run `accsync db upgrade`"
    head = head_revision()
    if revision != head:
        return f"is at migration {revision or 'none'}, not {head}: run `accsync db upgrade`"
    return None


def check_database(engine: Engine) -> None:
    """DatabaseUnavailable, in one line, unless the database can be read and is migrated."""
    where = redact_url(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            problem = schema_problem(conn)
    except DatabaseUnavailable:
        raise
    except sa.exc.DBAPIError as e:
        raise DatabaseUnavailable(f"cannot read the accsync database at {where}: {first_line(e)}") from None
    if problem:
        raise DatabaseUnavailable(f"the accsync database at {where} {problem}")


def first_line(error: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line only (never the SQL or its parameters)."""
    text = str(error.orig).strip() if error.orig is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
