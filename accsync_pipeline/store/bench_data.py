"""The scale benchmark's data set, written and read inside PostgreSQL (`generate_series`, seeded).

The benchmark (`bench.scale`) decides the shape; the SQL that builds it, and the few reads and
resets the benchmark makes around its measurements, live here with the rest of the SQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline.store.records import MARK_MARGIN
from accsync_pipeline.store.schema import (
    alert_state,
    approved_records,
    notifications,
    org_intake_marks,
    org_sync_claims,
    organizations,
    record_sync_state,
    sync_attempts,
)


@dataclass(frozen=True)
class DataShape:
    big_orgs: int
    big_records: int
    small_orgs: int
    small_records: int
    runs_per_org: int

    @property
    def orgs(self) -> int:
        return self.big_orgs + self.small_orgs


TABLES = (
    "notifications alert_state sync_attempts record_sync_state approved_records sync_runs "
    "org_sync_claims org_intake_marks ledger_reconciliations users organizations"
).split()


def _orgs_sql(profile: DataShape) -> str:
    # Integers of our own profile only: nothing from outside reaches this text.
    return f"""
    CREATE TEMP TABLE bench_orgs AS
    SELECT i, CASE WHEN i <= {profile.big_orgs} THEN 'big_' || lpad(i::text, 2, '0')
                   ELSE 'org_' || lpad(i::text, 4, '0') END AS org_id,
           CASE WHEN i <= {profile.big_orgs} THEN {profile.big_records}
                ELSE {profile.small_records} END AS size
    FROM generate_series(1, {profile.orgs}) AS i
    """  # noqa: S608


SETTINGS = (
    '{"base_url": "http://127.0.0.1:9", "auth_url": "http://127.0.0.1:9", "tenant": "t", '
    '"environment": "production", "company_id": "5f3b7c1e-0b4d-4e8a-9c2f-6a1d2e3f4a5b", '
    '"journal_id": "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f", "client_id": "bench", '
    '"client_secret_env": "ACCSYNC_BENCH_BC_SECRET"}'
)


def generate(engine: Engine, profile: DataShape, now: datetime) -> dict[str, float]:
    """Replace every accsync table's rows with the benchmark's data set; returns seconds per step."""
    upgrade(engine)
    taken_in = now - timedelta(hours=1)  # the last intake of every org
    steps: dict[str, float] = {}
    params = {
        "now": now,
        "taken_in": taken_in,
        "recount_after": taken_in - MARK_MARGIN,
        "runs": profile.runs_per_org,
        "settings": SETTINGS,
    }
    statements = {
        "reset": [
            f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY",
            "SELECT setseed(0.42)",
            _orgs_sql(profile),
        ],
        "organizations": [
            """
            INSERT INTO organizations (org_id, name, connector_type, connector_settings, enabled, timezone,
                schedule, record_types, sync_on_approval, created_at, updated_at)
            SELECT org_id, 'Organization ' || i, 'dynamics', CAST(:settings AS json), true, 'Europe/Oslo',
                   json_build_object('kind', 'daily', 'time', lpad((i % 24)::text, 2, '0') || ':' || '00'),
                   '["reimbursement", "honorarium"]'::json, i % 2 = 0, :now - interval '90 days', :now
            FROM bench_orgs
            """,
            """
            INSERT INTO users (user_id, name, email, role, org_id)
            SELECT org_id || '.admin', 'Admin ' || i, org_id || '@bench.example', 'org_admin', org_id
            FROM bench_orgs
            UNION ALL SELECT 'global.admin', 'Global Admin', 'global@bench.example', 'global_admin', NULL
            """,
        ],
        "approved_records": [
            """
            INSERT INTO approved_records (record_id, org_id, record_type, person_id, person_name,
                employee_number, amount, currency, expense_account, description, expense_date,
                approved_at, approved_by, updated_at)
            SELECT org_id || '-' || lpad(n::text, 6, '0'), org_id,
                   CASE WHEN n % 3 = 0 THEN 'honorarium' ELSE 'reimbursement' END,
                   'P' || (n % 400), 'Volunteer ' || (n % 400), (20000 + n % 400)::text,
                   round((50 + random() * 4950)::numeric, 2), 'NOK', '7140', 'Reise ' || n,
                   (at - interval '1 day')::date, at, 'approver', at
            FROM (
                SELECT org_id, n, size,
                       CASE WHEN n > size * 0.99 THEN :now - interval '10 minutes'
                            ELSE :taken_in - (size - n) * interval '1 minute' * (43200.0 / size) END AS at
                FROM bench_orgs, generate_series(1, size) AS n
            ) AS rows
            """
        ],
        "record_sync_state": [
            """
            INSERT INTO record_sync_state (record_id, org_id, record_type, status, approved_at,
                source_updated_at, external_id, attempt_count, consecutive_failures, next_attempt_at,
                last_error, last_error_code, skip_reason, last_run_id, exported_at, updated_at)
            SELECT a.record_id, a.org_id, a.record_type, s.status, a.approved_at, a.updated_at,
                   CASE WHEN s.status = 'exported' THEN 'BC-' || a.record_id END,
                   CASE s.status WHEN 'failed' THEN 3 WHEN 'exported' THEN 1 ELSE 0 END,
                   CASE WHEN s.status = 'failed' THEN 3 ELSE 0 END,
                   CASE WHEN s.status = 'failed' THEN
                        CASE WHEN o.i % 2 = 0 THEN :now - interval '1 minute'
                             ELSE :now + interval '1 hour' END
                   END,
                   CASE WHEN s.status = 'failed' THEN 'Account 7140 is blocked' END,
                   CASE WHEN s.status = 'failed' THEN 'Application_FieldValidationException' END,
                   CASE WHEN s.status = 'skipped' THEN 'the volunteer has no employee number' END,
                   o.org_id || '-run-1',
                   CASE WHEN s.status = 'exported' THEN a.approved_at + interval '1 hour' END,
                   :taken_in
            FROM approved_records a
            JOIN bench_orgs o ON o.org_id = a.org_id
            CROSS JOIN LATERAL (
                SELECT CASE split_part(a.record_id, '-', 2)::int % 100
                       WHEN 0 THEN 'pending' WHEN 1 THEN 'pending' WHEN 2 THEN 'failed'
                       WHEN 3 THEN 'skipped' ELSE 'exported' END AS status
            ) AS s
            WHERE a.updated_at <= :taken_in
            """,
            """
            INSERT INTO org_intake_marks (org_id, recount_after, taken_in_at)
            SELECT org_id, :recount_after, :taken_in FROM bench_orgs
            """,
        ],
        "sync_attempts": [
            # Every exported record's export, three failed attempts of each failed record, and
            # one earlier failure (resolved) for 42 % of the exported ones: ~1.4 million rows.
            """
            INSERT INTO sync_attempts (record_id, org_id, run_id, trigger, outcome, error, error_code,
                external_id, resolved_by_run_id, attempted_at)
            SELECT record_id, org_id, org_id || '-run-1', 'schedule', 'exported', NULL, NULL, external_id,
                   NULL, exported_at
            FROM record_sync_state WHERE status = 'exported'
            UNION ALL
            SELECT s.record_id, s.org_id, s.org_id || '-run-' || k, 'auto_retry', 'failed',
                   'Account 7140 is blocked', 'Application_FieldValidationException', NULL, NULL,
                   :now - k * interval '2 hours'
            FROM record_sync_state s, generate_series(1, 3) AS k WHERE s.status = 'failed'
            UNION ALL
            SELECT record_id, org_id, org_id || '-run-2', 'schedule', 'failed', 'HTTP 503 from the ledger',
                   'ServiceUnavailable', NULL, org_id || '-run-1', exported_at - interval '30 minutes'
            FROM record_sync_state
            WHERE status = 'exported' AND split_part(record_id, '-', 2)::int % 100 BETWEEN 4 AND 45
            """
        ],
        "sync_runs": [
            """
            INSERT INTO sync_runs (run_id, org_id, trigger, status, started_at, finished_at, total, done,
                exported, skipped, failed, error)
            SELECT org_id || '-run-' || k, org_id, 'schedule',
                   CASE WHEN k = 1 AND i % 10 = 0 THEN 'failure' ELSE 'success' END,
                   :now - k * interval '6 hours', :now - k * interval '6 hours' + interval '2 minutes',
                   size / 10, size / 10, size / 10 - 2, 1, 1,
                   CASE WHEN k = 1 AND i % 10 = 0 THEN 'The ledger answered HTTP 503 three times' END
            FROM bench_orgs, generate_series(1, :runs) AS k
            """
        ],
    }
    for step, sqls in statements.items():
        started = time.perf_counter()
        with engine.begin() as conn:
            for sql in sqls:
                conn.execute(sa.text(sql), params)
        steps[step] = time.perf_counter() - started
    # As autovacuum would leave the tables: statistics, and visibility maps for index-only scans.
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {', '.join(TABLES)}"))
    steps["vacuum"] = time.perf_counter() - started
    return steps


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table, as the benchmark reports them."""
    with engine.connect() as conn:
        return {
            table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
            for table in (
                "organizations",
                "approved_records",
                "record_sync_state",
                "sync_attempts",
                "sync_runs",
            )
        }


def org_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(sa.select(organizations.c.org_id).order_by(organizations.c.org_id)).scalars()
        )


def orgs_due_for_retry(engine: Engine, now: datetime) -> int:
    """Orgs with a failed record whose automatic retry is due."""
    S = record_sync_state
    query = sa.select(sa.func.count(sa.distinct(S.c.org_id))).where(
        S.c.status == "failed", S.c.next_attempt_at <= now
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def forget_alerts(engine: Engine) -> None:
    """No alert open and no notification written: the next alert tick is a first one."""
    with engine.begin() as conn:
        conn.execute(notifications.delete())
        conn.execute(alert_state.delete())


def settle_alerts(engine: Engine) -> None:
    """As autovacuum would leave the alert tables after a first tick wrote them (off on some servers):
    no dead rows from the alerts forgotten before it, statistics for the ones it opened."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE alert_state, notifications"))


def alert_rows(engine: Engine) -> tuple[int, int]:
    """(alert rows, notifications) as they stand."""
    with engine.connect() as conn:
        opened = conn.execute(sa.select(sa.func.count()).select_from(alert_state)).scalar_one()
        written = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar_one()
    return int(opened), int(written)


_NEW_SOURCE_ROWS = """
INSERT INTO approved_records (record_id, org_id, record_type, person_id, person_name, employee_number,
    amount, currency, expense_account, description, expense_date, approved_at, approved_by, updated_at)
SELECT :org || '-' || lpad(n::text, 6, '0'), :org,
       CASE WHEN n % 2 = 0 THEN 'honorarium' ELSE 'reimbursement' END,
       'P' || (n % 50), 'Volunteer ' || (n % 50), (10000 + n % 50)::text, 125.50 + n % 1000, 'NOK', '6800',
       'Travel ' || n, CAST(:day AS date), :at, 'approver', :at
FROM generate_series(1, :count) AS n
"""


def replace_source_rows(conn: sa.Connection, org_id: str, count: int, now: datetime) -> None:
    """The org's records, states, attempts, intake mark and any claim an interrupted run left replaced
    by `count` new approvals."""
    for table in (sync_attempts, record_sync_state, approved_records, org_intake_marks, org_sync_claims):
        conn.execute(table.delete().where(table.c.org_id == org_id))
    conn.execute(sa.text(_NEW_SOURCE_ROWS), {"org": org_id, "count": count, "at": now, "day": now.date()})
