"""a code beside each skip reason, so that skips of one kind are found without matching their words

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The words `domain.validation` wrote for each code when this migration was written, as LIKE
# patterns. Skips written before the codes existed are recognised by them once, here; a text
# none of them matches (none is known) keeps a null code.
CODE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("unknown_record_type", "unknown record type '%"),
    ("type_not_included", "record type '%' is not included in this organization's sync"),
    ("no_employee_number", "no employee number:%"),
    ("no_expense_account", "no expense account:%"),
    ("amount_not_postable", "amount %"),
    ("currency_not_supported", "currency '%' is not supported%"),
)


def upgrade() -> None:
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_code", sa.String(length=40), nullable=True))
    state = sa.table(
        "record_sync_state",
        sa.column("skip_reason", sa.Text),
        sa.column("skip_code", sa.String),
    )
    # Any record may hold a reason (a skip keeps it until it is reopened); the first pattern wins,
    # in the order the rules are checked.
    code = sa.case(
        *((state.c.skip_reason.like(pattern), sa.literal(name)) for name, pattern in CODE_PATTERNS),
        else_=sa.null(),
    )
    op.get_bind().execute(state.update().where(state.c.skip_reason.is_not(None)).values(skip_code=code))


def downgrade() -> None:
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.drop_column("skip_code")
