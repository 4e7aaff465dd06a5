"""Tables of the accsync database (SQLAlchemy Core). Alembic migrations must match this file.

Every query a status screen or a sensor runs has an index here; the comment on each index
names the query it serves, sized for 1,000 organizations and a million records.
"""

from __future__ import annotations

import sqlalchemy as sa

from accsync_pipeline.store.types import UtcDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("org_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("connector_type", sa.String(20), nullable=False),
    # Settings of the connector. Credentials appear only as names of environment variables.
    sa.Column("connector_settings", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Oslo"),
    # The schedule spec as the editor stores it, e.g. {"kind": "daily", "time": "02:00"}.
    sa.Column("schedule", sa.JSON, nullable=False),
    sa.Column("record_types", sa.JSON, nullable=False),
    sa.Column("sync_on_approval", sa.Boolean, nullable=False, server_default=sa.false()),
    # Whole-batch retries of a run (Dagster RetryPolicy).
    sa.Column("retry_max_retries", sa.Integer, nullable=False, server_default="3"),
    sa.Column("retry_base_delay_seconds", sa.Integer, nullable=False, server_default="30"),
    # Per-record automatic retries after a transient failure.
    sa.Column("auto_retry_base_seconds", sa.Integer, nullable=False, server_default="300"),
    sa.Column("auto_retry_max_seconds", sa.Integer, nullable=False, server_default="21600"),
    # Alert thresholds.
    sa.Column("alert_consecutive_failures", sa.Integer, nullable=False, server_default="3"),
    sa.Column("alert_error_threshold", sa.Integer, nullable=False, server_default="10"),
    sa.Column("alert_error_window_hours", sa.Integer, nullable=False, server_default="24"),
    sa.Column("alert_pending_hours", sa.Integer, nullable=False, server_default="48"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("connector_type IN ('xledger', 'dynamics')", name="connector_type"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("org_id", sa.String(40), sa.ForeignKey("organizations.org_id"), nullable=True),
    sa.CheckConstraint("role IN ('org_admin', 'global_admin')", name="role"),
    sa.CheckConstraint("role = 'global_admin' OR org_id IS NOT NULL", name="org_admin_has_org"),
    # Recipients of an org's alerts: the org's administrators.
    sa.Index(None, "org_id", "role"),
    sa.Index(None, "role"),
)

# The source contract. In production this is a view over the app's own tables; accsync only reads it.
approved_records = sa.Table(
    "approved_records",
    metadata,
    sa.Column("record_id", sa.String(100), primary_key=True),
    sa.Column("org_id", sa.String(40), nullable=False),
    sa.Column("record_type", sa.String(20), nullable=False),
    sa.Column("person_id", sa.String(100), nullable=False),
    sa.Column("person_name", sa.String(200), nullable=False),
    sa.Column("employee_number", sa.String(50), nullable=True),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="NOK"),
    sa.Column("expense_account", sa.String(50), nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("expense_date", sa.Date, nullable=False),
    sa.Column("approved_at", UtcDateTime, nullable=False),
    sa.Column("approved_by", sa.String(100), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Approval sensor: records changed since its cursor.
    sa.Index(None, "updated_at", "record_id"),
    # Intake of one org's new or edited records, and what waits for intake after its mark.
    sa.Index(None, "org_id", "updated_at"),
    # Per-org lists and joins to the state row, in record order.
    sa.Index(None, "org_id", "record_id"),
)

# Records that still owe work: the partial index below holds only these.
OPEN_CONDITION = "status IN ('pending', 'in_flight', 'failed')"
UNRESOLVED_FAILURE = "outcome = 'failed' AND resolved_by_run_id IS NULL"

record_sync_state = sa.Table(
    "record_sync_state",
    metadata,
    sa.Column("record_id", sa.String(100), primary_key=True),
    sa.Column("org_id", sa.String(40), nullable=False),
    sa.Column("record_type", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("approved_at", UtcDateTime, nullable=False),
    # The source row's updated_at when accsync last took it in: a newer one makes a
    # skipped or failed record pending again.
    sa.Column("source_updated_at", UtcDateTime, nullable=False),
    sa.Column("external_id", sa.String(100), nullable=True),
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_code", sa.String(100), nullable=True),
    sa.Column("skip_reason", sa.Text, nullable=True),
    # `domain.validation.SkipCode` of `skip_reason`: what a program matches, never the words.
    sa.Column("skip_code", sa.String(40), nullable=True),
    sa.Column("last_run_id", sa.String(64), nullable=True),
    sa.Column("exported_at", UtcDateTime, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(
        "status IN ('pending', 'in_flight', 'exported', 'failed', 'skipped')",
        name="status",
    ),
    # Status screen counts and the pipeline's pending query: per org, per status, per type.
    sa.Index(None, "org_id", "status", "record_type"),
    # Auto-retry sensor: failed records whose next attempt is due.
    sa.Index(None, "status", "next_attempt_at"),
    # Staleness rule: oldest pending approval per org.
    sa.Index(None, "status", "approved_at"),
    # Joins from the source carry org_id (`store.queue.state_of_source`): one org, in record order.
    sa.Index(None, "org_id", "record_id"),
    # Live status stream: the org's newest state write, one probe per poll (`store.live_markers`).
    sa.Index(None, "org_id", "updated_at"),
    # All-orgs counts (status pages, alert facts) read only the records still open. Exported and
    # skipped records are nearly all of a million and are not in this index, so its size follows
    # the work outstanding, not the history.
    # The alert rules' oldest approval and consecutive failures are read from the index alone.
    sa.Index(
        "ix_record_sync_state_open_org_id_status",
        "org_id",
        "status",
        "approved_at",
        "consecutive_failures",
        postgresql_where=sa.text(OPEN_CONDITION),
        sqlite_where=sa.text(OPEN_CONDITION),
    ),
)

# Per org, how far intake has read the source: the newest source `updated_at` it had seen, minus
# a margin for transactions that commit late. A source row before the mark has a state row
# already (intake created it), so "what awaits intake" reads only the rows after the mark, never
# the org's whole history. An org without a mark has never been taken in: all its rows count.
org_intake_marks = sa.Table(
    "org_intake_marks",
    metadata,
    sa.Column("org_id", sa.String(40), primary_key=True),
    sa.Column("recount_after", UtcDateTime, nullable=False),
    sa.Column("taken_in_at", UtcDateTime, nullable=False),
)

# When this database started sending each key scheme (`domain.legacy_keys`): a record approved
# well after the current scheme's mark cannot stand in a ledger under the keys an older accsync
# sent, so its lookups need not ask for them. Written by the migration that introduced the
# scheme, once, and again on a database restored from a backup older than that migration.
ledger_key_schemes = sa.Table(
    "ledger_key_schemes",
    metadata,
    sa.Column("scheme", sa.String(40), primary_key=True),
    sa.Column("since", UtcDateTime, nullable=False),
)

sync_attempts = sa.Table(
    "sync_attempts",
    metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.String(100), nullable=False),
    sa.Column("org_id", sa.String(40), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(20), nullable=False),
    # exported | failed | skipped | recovered (found by idempotency lookup after a crash)
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("error_code", sa.String(100), nullable=True),
    sa.Column("external_id", sa.String(100), nullable=True),
    # Set on a failed attempt once a later run exported the record.
    sa.Column("resolved_by_run_id", sa.String(64), nullable=True),
    sa.Column("attempted_at", UtcDateTime, nullable=False),
    # A record's history.
    sa.Index(None, "record_id", "attempted_at"),
    # Error-threshold rule: an org's failures in the last 24 hours.
    sa.Index(None, "org_id", "outcome", "attempted_at"),
    # The same, counted from the index alone: only failures no later export has put right, so its
    # size follows what is still wrong, not the history.
    sa.Index(
        "ix_sync_attempts_unresolved_org_id_attempted_at",
        "org_id",
        "attempted_at",
        postgresql_where=sa.text(UNRESOLVED_FAILURE),
        sqlite_where=sa.text(UNRESOLVED_FAILURE),
    ),
    # Run summary.
    sa.Index(None, "run_id"),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(40), nullable=False),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=True),
    # started | success | failure
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    # Progress: records done out of records taken for this run, readable by any process.
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("exported", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    # Liveness: the run's process beats while it lives; the liveness sensor fails a run whose
    # beat went stale. Host and pid let it act at once when the process is certainly gone.
    sa.Column("heartbeat_at", UtcDateTime, nullable=True),
    sa.Column("worker_host", sa.String(255), nullable=True),
    sa.Column("worker_pid", sa.Integer, nullable=True),
    # Status screen: an org's latest run and latest successful run.
    sa.Index(None, "org_id", "started_at"),
    sa.Index(None, "org_id", "status", "finished_at"),
    # Liveness sensor: the runs still open.
    sa.Index(None, "status", "heartbeat_at"),
)

# One sync per org at a time, claimed atomically before a launch: the primary key refuses a
# second claim. Released when the run ends, or by the liveness sensor when it cannot end itself.
org_sync_claims = sa.Table(
    "org_sync_claims",
    metadata,
    sa.Column("org_id", sa.String(40), primary_key=True),
    # Whoever claimed; a claim whose launch is still in progress has no run id yet.
    sa.Column("claim_token", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("claimed_at", UtcDateTime, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("notification_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("org_id", sa.String(40), nullable=True),
    # info | warning | critical
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("link", sa.String(500), nullable=False),
    # One condition yields one notification per recipient until it clears.
    sa.Column("dedupe_key", sa.String(300), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("user_id", "dedupe_key"),
    # The bell: a user's unread count and newest notifications.
    sa.Index(None, "user_id", "read_at"),
    sa.Index(None, "user_id", "created_at"),
)

alert_state = sa.Table(
    "alert_state",
    metadata,
    # e.g. "consecutive_failures:hlf:R-1001", "error_threshold:hlf", "platform"
    sa.Column("alert_key", sa.String(200), primary_key=True),
    sa.Column("rule", sa.String(50), nullable=False),
    sa.Column("org_id", sa.String(40), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("cleared_at", UtcDateTime, nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    # Alert sensor: the conditions currently open.
    sa.Index(None, "active", "rule"),
    sa.Index(None, "org_id", "active"),
)

# Each ledger reconciliation of an org: what accsync marked exported against what the ledger
# holds of ours. The newest row per org is the status screen's line; findings are capped.
ledger_reconciliations = sa.Table(
    "ledger_reconciliations",
    metadata,
    sa.Column("reconciliation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.String(40), nullable=False),
    sa.Column("checked_at", UtcDateTime, nullable=False),
    # sync | schedule | manual
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("expected", sa.Integer, nullable=False),
    sa.Column("held", sa.Integer, nullable=False),
    sa.Column("missing", sa.Integer, nullable=False),
    sa.Column("duplicated", sa.Integer, nullable=False),
    sa.Column("unknown", sa.Integer, nullable=False),
    # Set when the ledger could not be read: then the counts say nothing.
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("findings", sa.JSON, nullable=False),
    # Status screen and the resolved notice: an org's newest reconciliation.
    sa.Index(None, "org_id", "checked_at"),
)
