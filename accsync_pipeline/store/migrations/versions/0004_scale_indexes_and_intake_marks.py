"""indexes for 1,000 orgs and a million records; per-org intake marks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import accsync_pipeline.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_CONDITION = "status IN ('pending', 'in_flight', 'failed')"
MARGIN = timedelta(minutes=5)  # store.records.MARK_MARGIN when this migration was written


def upgrade() -> None:
    with op.batch_alter_table("approved_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approved_records_org_id_record_id"), ["org_id", "record_id"], unique=False
        )
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_sync_state_org_id_record_id"), ["org_id", "record_id"], unique=False
        )
        batch_op.create_index(
            "ix_record_sync_state_open_org_id_status",
            ["org_id", "status", "approved_at", "consecutive_failures"],
            unique=False,
            postgresql_where=sa.text(OPEN_CONDITION),
            sqlite_where=sa.text(OPEN_CONDITION),
        )
    op.create_table(
        "org_intake_marks",
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("recount_after", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("taken_in_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_intake_marks")),
    )
    # Existing state rows were all written by intake: mark each org at the newest source row
    # that has one (less the margin for late commits), so that the first count after the upgrade
    # reads only what came after.
    conn = op.get_bind()
    marks = sa.table(
        "org_intake_marks",
        sa.column("org_id", sa.String),
        sa.column("recount_after", accsync_pipeline.store.types.UtcDateTime(timezone=True)),
        sa.column("taken_in_at", accsync_pipeline.store.types.UtcDateTime(timezone=True)),
    )
    state = sa.table(
        "record_sync_state",
        sa.column("org_id", sa.String),
        sa.column("source_updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True)),
        sa.column("updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True)),
    )
    newest = conn.execute(
        sa.select(
            state.c.org_id, sa.func.max(state.c.source_updated_at), sa.func.max(state.c.updated_at)
        ).group_by(state.c.org_id)
    ).all()
    if newest:
        conn.execute(
            marks.insert(),
            [
                {"org_id": org_id, "recount_after": until - MARGIN, "taken_in_at": taken_in_at}
                for org_id, until, taken_in_at in newest
            ],
        )


def downgrade() -> None:
    op.drop_table("org_intake_marks")
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.drop_index("ix_record_sync_state_open_org_id_status")
        batch_op.drop_index(batch_op.f("ix_record_sync_state_org_id_record_id"))
    with op.batch_alter_table("approved_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approved_records_org_id_record_id"))
