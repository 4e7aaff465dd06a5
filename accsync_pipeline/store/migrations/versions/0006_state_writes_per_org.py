"""an index of each org's state writes by time, for the live status stream's change marker

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_sync_state_org_id_updated_at"), ["org_id", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_sync_state_org_id_updated_at"))
