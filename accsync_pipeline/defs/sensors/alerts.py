"""Evaluates the alert rules on a short interval and writes in-app notifications."""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.service.alerting import evaluate_alerts
from accsync_pipeline.service.export import utc_now


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def alert_rules_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SkipReason:
    """Each condition notifies once when it opens and once when it clears; ticks in between are quiet."""
    with accsync_db.engine.begin() as conn:
        report = evaluate_alerts(conn, utc_now())
    return dg.SkipReason(
        f"alerts opened: {len(report.opened)}, cleared: {len(report.cleared)}, "
        f"notifications written: {report.notifications_written}"
    )
