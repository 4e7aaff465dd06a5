"""`accsync schedule ...`: sync schedules.

`describe` checks a cron expression and shows when it runs; `show` and `set` read and change
an organization's schedule through the configuration service, which validates before saving.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.domain.schedule import DEFAULT_TIMEZONE, stored_schedule, view_schedule

if TYPE_CHECKING:
    from accsync_pipeline.service.schedule_overview import ScheduleOverview

# `describe` reads no organization: the org and configuration modules (the database, the
# connectors) are imported by `show` and `set` only, so that `describe` starts at once.


@click.group("schedule")
def command() -> None:
    """Sync schedules: when each organization's sync runs."""


def _parse_after(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        after = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--after: '{text}' is not an ISO-8601 time") from None
    if after.tzinfo is None:
        raise UserError(f"--after: '{text}' needs a UTC offset, e.g. {text}+01:00")
    return after


@command.command("describe")
@click.argument("expression")
@click.option("--tz", "timezone", default=DEFAULT_TIMEZONE, show_default=True, help="IANA timezone.")
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True, help="Runs to list.")
@click.option("--after", metavar="ISO-TIME", help="List runs after this time instead of after now.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def describe_command(expression: str, timezone: str, count: int, after: str | None, as_json: bool) -> None:
    """Check a cron EXPRESSION, say in words when it runs, and list the next runs.

    The run times are the ones Dagster's scheduler will launch, clock changes included.
    """
    start = _parse_after(after)
    view = view_schedule(stored_schedule({"kind": "custom", "cron": expression}), timezone, start, count)
    cron, description, runs = view.cron, view.description, view.next_runs
    if view.problem is not None:
        if not as_json:
            raise UserError(f"invalid schedule '{expression}': {view.problem}")
        # Same keys as a valid answer, so a caller can read `valid` and `error` without special cases.
        echo_json(
            {
                "valid": False,
                "expression": expression,
                "cron": None,
                "timezone": timezone,
                "description": None,
                "next_runs": [],
                "next_runs_utc": [],
                "error": view.problem,
            }
        )
        raise click.exceptions.Exit(1)
    if as_json:
        echo_json(
            {
                "valid": True,
                "expression": expression,
                "cron": cron,
                "timezone": timezone,
                "description": description,
                "next_runs": [run.isoformat() for run in runs],
                "next_runs_utc": [run.astimezone(UTC).isoformat() for run in runs],
                "error": None,
            }
        )
        return
    click.echo(f"cron:        {cron}")
    click.echo(f"description: {description}")
    click.echo("")
    echo_table(
        [f"next runs ({timezone})", "UTC"],
        [[f"{run:%Y-%m-%d %a %H:%M %Z (%z)}", f"{run.astimezone(UTC):%Y-%m-%d %H:%M}"] for run in runs],
    )


def _echo_overview(overview: ScheduleOverview) -> None:
    click.echo(f"org:              {overview.org_id}{'' if overview.enabled else ' (disabled)'}")
    click.echo(f"schedule:         {overview.kind} {json.dumps(overview.spec)}")
    click.echo(f"cron:             {overview.cron or '-'}")
    click.echo(f"description:      {overview.description}")
    click.echo(f"timezone:         {overview.timezone}")
    click.echo(f"record types:     {', '.join(overview.record_types)}")
    click.echo(f"retries:          {overview.max_retries} (first after {overview.retry_delay_seconds} s)")
    click.echo(f"sync on approval: {'yes' if overview.sync_on_approval else 'no'}")
    if overview.next_runs:
        click.echo("")
        echo_table(
            [f"next runs ({overview.timezone})", "UTC"],
            [
                [f"{run:%Y-%m-%d %a %H:%M %Z (%z)}", f"{run.astimezone(UTC):%Y-%m-%d %H:%M}"]
                for run in overview.next_runs
            ],
        )


@command.command("show")
@click.option("--org", "org_id", required=True, help="Organization slug.")
@click.option("--after", metavar="ISO-TIME", help="List runs after this time instead of after now.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show_command(org_id: str, after: str | None, as_json: bool) -> None:
    """Show an organization's schedule, what it syncs, and its next 5 runs."""
    from accsync_pipeline.cli.org import load_org
    from accsync_pipeline.service.schedule_overview import schedule_overview

    overview = schedule_overview(load_org(org_id), _parse_after(after))
    if as_json:
        echo_json(overview.as_json())
    else:
        _echo_overview(overview)


def _schedule_spec(
    manual: bool,
    daily: str | None,
    weekly: tuple[str, str] | None,
    monthly: tuple[str, str] | None,
    cron: str | None,
) -> dict[str, object] | None:
    """The spec the chosen option stands for (None when none was given); the service checks its values."""
    specs: dict[str, dict[str, object]] = {}
    if manual:
        specs["--manual"] = {"kind": "manual"}
    if daily is not None:
        specs["--daily"] = {"kind": "daily", "time": daily}
    if weekly is not None:
        specs["--weekly"] = {"kind": "weekly", "weekday": weekly[0].strip().lower(), "time": weekly[1]}
    if monthly is not None:
        day = monthly[0].strip().lower()
        specs["--monthly"] = {
            "kind": "monthly",
            "day": int(day) if day.isdigit() else day,
            "time": monthly[1],
        }
    if cron is not None:
        specs["--cron"] = {"kind": "custom", "cron": cron}
    if len(specs) > 1:
        raise UserError(f"choose one schedule, not {' and '.join(specs)}")
    return next(iter(specs.values()), None)


def _record_types(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@command.command("set")
@click.option("--org", "org_id", required=True, help="Organization slug.")
@click.option("--manual", is_flag=True, help="Only when someone starts a sync.")
@click.option("--daily", metavar="HH:MM", help="Every day at this time.")
@click.option("--weekly", nargs=2, metavar="DAY HH:MM", help="Every week, e.g. --weekly friday 16:00.")
@click.option("--monthly", nargs=2, metavar="DAY HH:MM", help="Every month on day 1-28 or 'last'.")
@click.option("--cron", metavar="EXPR", help='A cron expression, e.g. --cron "0 6,18 * * 1-5".')
@click.option("--types", metavar="TYPES", help="Record types to sync: reimbursement,honorarium.")
@click.option("--timezone", help="IANA timezone the schedule runs in, e.g. Europe/Oslo.")
@click.option("--retries", type=int, metavar="N", help="Whole-batch retries of a failed run (0-10).")
@click.option(
    "--retry-delay", type=int, metavar="SECONDS", help="First retry delay, doubled each time (0-3600)."
)
@click.option(
    "--sync-on-approval/--no-sync-on-approval", default=None, help="Sync as soon as a record is approved."
)
def set_command(
    org_id: str,
    manual: bool,
    daily: str | None,
    weekly: tuple[str, str] | None,
    monthly: tuple[str, str] | None,
    cron: str | None,
    types: str | None,
    timezone: str | None,
    retries: int | None,
    retry_delay: int | None,
    sync_on_approval: bool | None,
) -> None:
    """Set when an organization syncs and what; prints the schedule in words and its next run."""
    from accsync_pipeline.cli.org import report_dagster, save_change
    from accsync_pipeline.service.org_config import update_sync_settings
    from accsync_pipeline.service.schedule_overview import schedule_overview

    spec = _schedule_spec(manual, daily, weekly, monthly, cron)
    retry: dict[str, object] = {}
    if retries is not None:
        retry["max_retries"] = retries
    if retry_delay is not None:
        retry["base_delay_seconds"] = retry_delay
    record_types = _record_types(types)
    if spec is None and not retry and record_types is None and timezone is None and sync_on_approval is None:
        raise UserError(
            "nothing to change: give --manual, --daily, --weekly, --monthly or --cron (or --types, ...)"
        )
    change, update = save_change(
        org_id,
        lambda conn: update_sync_settings(
            conn,
            org_id,
            schedule_spec=spec,
            record_types=record_types,
            retry=retry or None,
            sync_on_approval=sync_on_approval,
            timezone=timezone,
        ),
    )
    overview = schedule_overview(change.after, datetime.now(UTC), count=1)
    click.echo(f"{org_id}: {overview.description}")
    if overview.next_runs:
        run = overview.next_runs[0]
        click.echo(f"next run: {run:%Y-%m-%d %a %H:%M %Z} ({run.astimezone(UTC):%Y-%m-%d %H:%M} UTC)")
    report_dagster(update)
