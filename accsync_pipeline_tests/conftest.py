"""Shared fixtures: a migrated accsync database on SQLite and on real PostgreSQL, each test its own."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import alembic
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import MIGRATIONS, upgrade

POSTGRES_URL = os.environ.get("ACCSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("ACCSYNC_REQUIRE_POSTGRES") == "1"


def _postgres_unreachable_reason() -> str | None:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return None
    except Exception as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} is unreachable: {first_line}"
    finally:
        engine.dispose()


_POSTGRES_PROBLEM: str | None = None
_POSTGRES_CHECKED = False


def require_postgres() -> None:
    """Skip with the reason when PostgreSQL is unreachable, or fail when CI requires it."""
    global _POSTGRES_PROBLEM, _POSTGRES_CHECKED
    if not _POSTGRES_CHECKED:
        _POSTGRES_PROBLEM = _postgres_unreachable_reason()
        _POSTGRES_CHECKED = True
    if _POSTGRES_PROBLEM:
        if REQUIRE_POSTGRES:
            pytest.fail(f"ACCSYNC_REQUIRE_POSTGRES=1 but {_POSTGRES_PROBLEM}")
        pytest.skip(_POSTGRES_PROBLEM)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema; dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/accsync.db"


def _migrations_fingerprint() -> str:
    """What a fresh upgrade's result depends on: the scripts, what they import, the libraries."""
    digest = hashlib.sha256()
    for version in (alembic.__version__, sa.__version__, sqlite3.sqlite_version):
        digest.update(version.encode())
    store = MIGRATIONS.parent
    scripts = [
        *sorted(MIGRATIONS.rglob("*.py")),
        *(store / f for f in ("types.py", "schema.py", "engine.py")),
    ]
    for script in scripts:
        digest.update(str(script.relative_to(store)).encode())
        digest.update(script.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest revision, migrated once and then only copied.

    An Alembic upgrade costs about a second; a SQLite database is its one file, so a copy of this
    one is a migrated database. It is kept beside pytest's numbered temporary folders under the
    fingerprint of the migrations, because mutation testing starts a pytest session per mutant.
    `store/test_migrated_sqlite_copy.py` holds the copy to a fresh upgrade.
    """
    path = tmp_path_factory.getbasetemp().parent / f"accsync-migrated-{_migrations_fingerprint()}.db"
    if path.exists():
        return path
    building = tmp_path_factory.mktemp("migrating") / "template.db"
    eng = create_engine(f"sqlite:///{building}")
    upgrade(eng)
    # Closing the last connection checkpoints the write-ahead log into the file and removes it.
    eng.dispose()
    # Atomic: a session running beside this one sees no file or a whole one.
    os.replace(building, path)
    return path


def copy_migrated_sqlite(template: Path, url: str) -> None:
    """Make the SQLite file at `url` a migrated, empty accsync database."""
    database = make_url(url).database
    assert database, f"not a SQLite file URL: {url}"
    shutil.copyfile(template, database)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty accsync database (on SQLite a copy of the session's migrated file)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        copy_migrated_sqlite(request.getfixturevalue("migrated_sqlite_template"), database_url)
        eng = create_engine(database_url)
    else:
        eng = create_engine(database_url)
        upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def accsync_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every accsync component in this process at the test database."""
    monkeypatch.setenv("ACCSYNC_DATABASE_URL", database_url)
    return database_url
