"""`accsync schedule ...`: sync schedules. `describe` checks a cron expression and shows when it runs."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.domain.schedule import (
    DEFAULT_TIMEZONE,
    ScheduleError,
    describe,
    next_runs,
    validate_cron,
)


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
    try:
        cron = validate_cron(expression)
        description = describe(cron, timezone)
        runs = next_runs(cron, timezone, start, count)
    except ScheduleError as e:
        if not as_json:
            raise UserError(f"invalid schedule '{expression}': {e}") from None
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
                "error": str(e),
            }
        )
        raise click.exceptions.Exit(1) from None
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
