"""Evaluates the alert rules on a short interval and writes in-app notifications.

Facts come from accsync's database (records, attempts, pending age) and from Dagster's run
history (whole sync runs that failed since the org's last successful one).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.service.alerting import evaluate_alerts
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.service.history import failed_runs_since_success
from accsync_pipeline.store import orgs as org_store


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def alert_rules_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SkipReason:
    """Each condition notifies once when it opens and once when it clears; ticks in between are quiet."""
    now = utc_now()
    with accsync_db.engine.connect() as conn:
        windows = {
            o.org_id: now - timedelta(hours=o.alerts.error_window_hours) for o in org_store.list_orgs(conn)
        }
    failed_runs = failed_runs_since_success(context.instance, windows)
    with accsync_db.engine.begin() as conn:
        report = evaluate_alerts(conn, now, failed_runs=failed_runs)
    return dg.SkipReason(
        f"alerts opened: {len(report.opened)}, cleared: {len(report.cleared)}, "
        f"notifications written: {report.notifications_written}"
    )
