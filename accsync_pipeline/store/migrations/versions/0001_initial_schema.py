"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 00:07:46.442228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accsync_pipeline.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "alert_state",
        sa.Column("alert_key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("opened_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("alert_key", name=op.f("pk_alert_state")),
    )
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_state_active_rule"), ["active", "rule"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_state_org_id_active"), ["org_id", "active"], unique=False)

    op.create_table(
        "approved_records",
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("employee_number", sa.String(length=50), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="NOK", nullable=False),
        sa.Column("expense_account", sa.String(length=50), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("expense_date", sa.Date(), nullable=False),
        sa.Column("approved_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_approved_records")),
    )
    with op.batch_alter_table("approved_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approved_records_org_id_updated_at"), ["org_id", "updated_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_approved_records_updated_at_record_id"), ["updated_at", "record_id"], unique=False
        )

    op.create_table(
        "organizations",
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("connector_type", sa.String(length=20), nullable=False),
        sa.Column("connector_settings", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/Oslo", nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("record_types", sa.JSON(), nullable=False),
        sa.Column("sync_on_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("retry_max_retries", sa.Integer(), server_default="3", nullable=False),
        sa.Column("retry_base_delay_seconds", sa.Integer(), server_default="30", nullable=False),
        sa.Column("auto_retry_base_seconds", sa.Integer(), server_default="300", nullable=False),
        sa.Column("auto_retry_max_seconds", sa.Integer(), server_default="21600", nullable=False),
        sa.Column("alert_consecutive_failures", sa.Integer(), server_default="3", nullable=False),
        sa.Column("alert_error_threshold", sa.Integer(), server_default="10", nullable=False),
        sa.Column("alert_error_window_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("alert_pending_hours", sa.Integer(), server_default="48", nullable=False),
        sa.Column("created_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "connector_type IN ('xledger', 'dynamics')", name=op.f("ck_organizations_connector_type")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "record_sync_state",
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approved_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "source_updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_code", sa.String(length=100), nullable=True),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("last_run_id", sa.String(length=64), nullable=True),
        sa.Column("exported_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in_flight', 'exported', 'failed', 'skipped')",
            name=op.f("ck_record_sync_state_status"),
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_record_sync_state")),
    )
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_sync_state_org_id_status_record_type"),
            ["org_id", "status", "record_type"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_record_sync_state_status_approved_at"), ["status", "approved_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_record_sync_state_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "sync_attempts",
        sa.Column("attempt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("resolved_by_run_id", sa.String(length=64), nullable=True),
        sa.Column("attempted_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_sync_attempts")),
    )
    with op.batch_alter_table("sync_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_attempts_org_id_outcome_attempted_at"),
            ["org_id", "outcome", "attempted_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sync_attempts_record_id_attempted_at"), ["record_id", "attempted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sync_attempts_run_id"), ["run_id"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("exported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_runs_org_id_started_at"), ["org_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sync_runs_org_id_status_finished_at"),
            ["org_id", "status", "finished_at"],
            unique=False,
        )

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "role = 'global_admin' OR org_id IS NOT NULL", name=op.f("ck_users_org_admin_has_org")
        ),
        sa.CheckConstraint("role IN ('org_admin', 'global_admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.org_id"], name=op.f("fk_users_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_org_id_role"), ["org_id", "role"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", accsync_pipeline.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "dedupe_key", name=op.f("uq_notifications_user_id_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_created_at"), ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_read_at"), ["user_id", "read_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_read_at"))
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_created_at"))

    op.drop_table("notifications")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role"))
        batch_op.drop_index(batch_op.f("ix_users_org_id_role"))

    op.drop_table("users")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_org_id_status_finished_at"))
        batch_op.drop_index(batch_op.f("ix_sync_runs_org_id_started_at"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("sync_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_attempts_run_id"))
        batch_op.drop_index(batch_op.f("ix_sync_attempts_record_id_attempted_at"))
        batch_op.drop_index(batch_op.f("ix_sync_attempts_org_id_outcome_attempted_at"))

    op.drop_table("sync_attempts")
    with op.batch_alter_table("record_sync_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_sync_state_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_record_sync_state_status_approved_at"))
        batch_op.drop_index(batch_op.f("ix_record_sync_state_org_id_status_record_type"))

    op.drop_table("record_sync_state")
    op.drop_table("organizations")
    with op.batch_alter_table("approved_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approved_records_updated_at_record_id"))
        batch_op.drop_index(batch_op.f("ix_approved_records_org_id_updated_at"))

    op.drop_table("approved_records")
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_state_org_id_active"))
        batch_op.drop_index(batch_op.f("ix_alert_state_active_rule"))

    op.drop_table("alert_state")
