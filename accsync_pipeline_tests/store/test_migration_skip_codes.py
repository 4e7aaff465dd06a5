"""Migration 0005 gives skips written before codes existed the code of their words, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa

from accsync_pipeline.domain.validation import SkipCode, skip_for
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline_tests.domain.test_skip_codes import CASES
from accsync_pipeline_tests.domain.test_skip_reasons import RECORD

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STATE = sa.table(
    "record_sync_state",
    *(sa.column(name) for name in ("record_id", "org_id", "record_type", "status", "skip_reason")),
    *(sa.column(name) for name in ("approved_at", "source_updated_at", "updated_at")),
)


def _row(record_id: str, status: str, skip_reason: str | None) -> dict[str, object]:
    return {
        "record_id": record_id,
        "org_id": "hlf",
        "record_type": "honorarium",
        "status": status,
        "skip_reason": skip_reason,
        "approved_at": AT,
        "source_updated_at": AT,
        "updated_at": AT,
    }


def test_existing_skips_get_the_code_of_their_words(database_url: str) -> None:
    """Every reason today's rules write, a failed record, an exported one and a text of no rule."""
    expected: dict[str, str | None] = {}
    rows = []
    for number, (changes, included, code) in enumerate(CASES):
        skip = skip_for(replace(RECORD, **changes), included)  # type: ignore[arg-type]
        assert skip is not None
        rows.append(_row(f"S{number}", "skipped", skip.reason))
        expected[f"S{number}"] = code.value
    rows += [_row("F1", "failed", None), _row("E1", "exported", None), _row("X1", "skipped", "no account")]
    expected |= {"F1": None, "E1": None, "X1": None}
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(sa.insert(STATE), rows)
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT record_id, skip_code FROM record_sync_state"))
            found: dict[str, str | None] = {record_id: code for record_id, code in rows}
    finally:
        engine.dispose()
    assert found == expected
    assert set(SkipCode) <= {SkipCode(c) for c in found.values() if c is not None}
