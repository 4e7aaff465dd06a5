"""ledger reconciliations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accsync_pipeline.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_reconciliations",
        sa.Column("reconciliation_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("checked_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("duplicated", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("reconciliation_id", name=op.f("pk_ledger_reconciliations")),
    )
    with op.batch_alter_table("ledger_reconciliations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_reconciliations_org_id_checked_at"), ["org_id", "checked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_reconciliations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_reconciliations_org_id_checked_at"))
    op.drop_table("ledger_reconciliations")
