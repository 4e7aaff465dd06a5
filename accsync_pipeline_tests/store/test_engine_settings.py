"""Session settings accsync's PostgreSQL engine gives every connection."""

from __future__ import annotations

import sqlalchemy as sa

from accsync_pipeline.store.engine import create_engine


def test_postgresql_sessions_run_without_jit_and_keep_the_urls_own_options(postgres_schema_url: str) -> None:
    # The fixture's URL carries its own options (a search_path): both must reach the session.
    engine = create_engine(postgres_schema_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
            schema = conn.execute(sa.text("SELECT current_schemas(false)")).scalar()
        expected = sa.make_url(postgres_schema_url).query["options"]
        assert isinstance(expected, str) and schema is not None
        assert expected.removeprefix("-csearch_path=") in schema
    finally:
        engine.dispose()
