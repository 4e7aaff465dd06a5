"""an index of each org's failed attempts that no later export has put right, for the alert rules

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED_FAILURE = "outcome = 'failed' AND resolved_by_run_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("sync_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_attempts_unresolved_org_id_attempted_at",
            ["org_id", "attempted_at"],
            unique=False,
            postgresql_where=sa.text(UNRESOLVED_FAILURE),
            sqlite_where=sa.text(UNRESOLVED_FAILURE),
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_attempts_unresolved_org_id_attempted_at")
