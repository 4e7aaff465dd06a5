"""When this database started sending the current ledger keys (`domain.legacy_keys`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from accsync_pipeline.domain.legacy_keys import CURRENT_KEY_SCHEME
from accsync_pipeline.store.schema import ledger_key_schemes


def current_keys_since(conn: sa.Connection) -> datetime | None:
    """The mark of the current key scheme; None when the row is missing (then every record may
    hold legacy keys)."""
    query = sa.select(ledger_key_schemes.c.since).where(ledger_key_schemes.c.scheme == CURRENT_KEY_SCHEME)
    since: datetime | None = conn.execute(query).scalar_one_or_none()
    return since
