"""`accsync alerts check`: evaluate the alert rules once and say what opened and what cleared."""

from __future__ import annotations

import click

from accsync_pipeline.cli.output import echo_json
from accsync_pipeline.service.alerting import check_alerts
from accsync_pipeline.service.dagster_home import dagster_instance
from accsync_pipeline.service.export import utc_now
from accsync_pipeline.store.engine import create_engine


@click.group("alerts")
def command() -> None:
    """Alert rules: the alert sensor evaluates them every 30 seconds; ops can do it at once."""


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check(as_json: bool) -> None:
    """Evaluate every alert rule once: open and clear alerts, notify, and print what changed."""
    engine = create_engine()
    try:
        report = check_alerts(engine, dagster_instance(), utc_now())
    finally:
        engine.dispose()
    if as_json:
        echo_json(
            {
                "opened": list(report.opened),
                "resolved": list(report.cleared),
                "notifications_written": report.notifications_written,
            }
        )
        return
    for key in report.opened:
        click.echo(f"opened    {key}")
    for key in report.cleared:
        click.echo(f"resolved  {key}")
    click.echo(
        f"{len(report.opened)} opened, {len(report.cleared)} resolved, "
        f"{report.notifications_written} notifications written"
    )
