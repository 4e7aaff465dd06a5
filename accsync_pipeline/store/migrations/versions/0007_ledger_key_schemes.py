"""the instant this database started sending the current ledger keys, so that only records
approved before it are looked up under the keys an older accsync sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:45:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import accsync_pipeline.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `domain.legacy_keys.CURRENT_KEY_SCHEME` when this migration was written.
SCHEME = "unique_under_upper_casing"


def upgrade() -> None:
    conn = op.get_bind()
    schemes = sa.table(
        "ledger_key_schemes",
        sa.column("scheme", sa.String),
        sa.column("since", accsync_pipeline.store.types.UtcDateTime(timezone=True)),
    )
    if sa.inspect(conn).has_table("ledger_key_schemes"):
        # A backup older than this migration restored into a database that had the table keeps
        # it (`pg_restore --clean` drops only what the backup holds): its mark is replaced below.
        conn.execute(schemes.delete().where(schemes.c.scheme == SCHEME))
    else:
        op.create_table(
            "ledger_key_schemes",
            sa.Column("scheme", sa.String(length=40), nullable=False),
            sa.Column("since", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("scheme", name=op.f("pk_ledger_key_schemes")),
        )
    # Now, not the day the scheme was released: an accsync older than the scheme may have run
    # against this database until this upgrade, and one still running beside it during a rolling
    # deploy is what `domain.legacy_keys.LEGACY_KEYS_MARGIN` covers. A database restored from a
    # backup older than this migration passes here again, later: more records are then looked
    # up under their legacy keys, never fewer.
    conn.execute(schemes.insert().values(scheme=SCHEME, since=datetime.now(UTC)))


def downgrade() -> None:
    # Dropping the mark matters: code that runs against the downgraded database may send the
    # legacy keys again, and the next upgrade must then mark a later instant.
    op.drop_table("ledger_key_schemes")
