"""Evaluates the alert rules on a short interval and writes in-app notifications.

Facts come from accsync's database (records, attempts, pending age) and from Dagster's run
history (whole sync runs that failed since the org's last successful one).
"""

from __future__ import annotations

import dagster as dg

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.service.alerting import check_alerts
from accsync_pipeline.service.export import utc_now


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the alert rules (records failing in a row, errors per org over its window, approved "
        "records not in the ledger past the org's limit, several orgs at once) and writes in-app "
        "notifications: once when a condition opens, once when it clears."
    ),
)
def alert_rules_sensor(context: dg.SensorEvaluationContext, accsync_db: AccsyncDatabase) -> dg.SkipReason:
    """Each condition notifies once when it opens and once when it clears; ticks in between are quiet."""
    report = check_alerts(accsync_db.engine, context.instance, utc_now())
    return dg.SkipReason(
        f"alerts opened: {len(report.opened)}, cleared: {len(report.cleared)}, "
        f"notifications written: {report.notifications_written}"
    )
