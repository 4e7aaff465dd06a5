"""Migration 0007 marks, once, when the database started using the current keys; on both databases.

A database restored from a backup older than the migration is at an earlier revision: the
next `accsync db upgrade` marks it again, later, so more records are looked up under their
legacy keys, never fewer.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from accsync_pipeline.domain.legacy_keys import CURRENT_KEY_SCHEME
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.ledger_key_schemes import current_keys_since
from accsync_pipeline.store.migrate import alembic_config, upgrade
from accsync_pipeline.store.schema import ledger_key_schemes


def _mark(url: str) -> datetime | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current_keys_since(conn)
    finally:
        engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _upgrade(url: str, revision: str = "head") -> None:
    engine = create_engine(url)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()


def test_the_upgrade_marks_its_own_instant_once(database_url: str) -> None:
    _upgrade(database_url, "0006")
    before = datetime.now(UTC)
    _upgrade(database_url)
    after = datetime.now(UTC)
    mark = _mark(database_url)
    assert mark is not None and before <= mark <= after
    assert mark.utcoffset() is not None  # timezone-aware on both databases

    _upgrade(database_url)  # at head already: nothing runs, the mark stays
    assert _mark(database_url) == mark


def test_a_database_restored_from_before_the_upgrade_is_marked_again_later(database_url: str) -> None:
    _upgrade(database_url)
    first = _mark(database_url)
    assert first is not None
    _downgrade(database_url, "0006")  # what a backup older than the upgrade holds: no mark at all
    engine = create_engine(database_url)
    try:
        assert "ledger_key_schemes" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    _upgrade(database_url)
    second = _mark(database_url)
    assert second is not None and second > first


def test_a_missing_mark_reads_as_none(database_url: str) -> None:
    """An emptied table must not read as 'no record holds legacy keys'."""
    _upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.select(ledger_key_schemes.c.scheme)).scalars().all() == [
                CURRENT_KEY_SCHEME
            ]
            conn.execute(ledger_key_schemes.delete())
            assert current_keys_since(conn) is None
    finally:
        engine.dispose()


def test_a_restore_that_left_the_mark_table_behind_is_marked_again_later(database_url: str) -> None:
    """`pg_restore --clean` of a backup older than the migration drops only the tables the backup
    holds: the database says 0006 again while the mark's table, and its earlier mark, remain."""
    _upgrade(database_url, "0007")
    first = _mark(database_url)
    assert first is not None
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0006'"))
    finally:
        engine.dispose()
    _upgrade(database_url, "0007")
    second = _mark(database_url)
    assert second is not None and second > first
