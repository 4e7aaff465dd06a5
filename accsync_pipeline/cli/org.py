"""`accsync org …`: organizations and their integration configuration.

`list` and `show` only read, and start without the connector settings models or the schedule
parser (`make bench-cli`): `add` and `set`, whose options and help are built from those, live
in `cli.org_edit` and load when one of them is named or `accsync org --help` lists them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.output import echo_json, echo_table

if TYPE_CHECKING:
    import sqlalchemy as sa

    from accsync_pipeline.domain.org import OrgConfig
    from accsync_pipeline.service.dagster_sync import DagsterUpdate
    from accsync_pipeline.service.org_config import ConfigChange
    from accsync_pipeline.store.org_listing import OrgListing

HIDDEN = "<hidden>"
# The commands of `cli.org_edit`, with the name each has there.
EDIT_COMMANDS = {"add": "add_command", "set": "set_command"}


def org_as_dict(org: OrgConfig) -> dict[str, Any]:
    """Everything about an org that may be shown: settings hold names of secret variables, never values."""
    from accsync_pipeline.service.org_settings import is_secret_key

    data = dataclasses.asdict(org)
    data["schedule"] = org.schedule.to_spec()
    # Rows written outside this tool could hold a secret under a secret-like key; never print it.
    data["connector_settings"] = {
        k: (HIDDEN if is_secret_key(k) else v) for k, v in org.connector_settings.stored().items()
    }
    return data


def unknown_org(org_id: str) -> UserError:
    return UserError(f"unknown organization '{org_id}' (see `accsync org list`)")


def require_org(conn: sa.Connection, org_id: str) -> OrgListing:
    """The org's listing, for commands that need it to exist but not its configuration."""
    from accsync_pipeline.store.org_listing import org_listings

    found = org_listings(conn, [org_id])
    if not found:
        raise unknown_org(org_id)
    return found[0]


def load_org(org_id: str) -> OrgConfig:
    from accsync_pipeline.store import orgs as org_store
    from accsync_pipeline.store.engine import create_engine

    engine = create_engine()
    with engine.connect() as conn:
        org = org_store.find_org(conn, org_id)
    engine.dispose()
    if org is None:
        raise unknown_org(org_id)
    return org


def _apply_to_dagster(org_id: str) -> DagsterUpdate:
    # Dagster's GraphQL client imports Dagster: only commands that change an org need it.
    from accsync_pipeline.service.dagster_sync import apply_to_dagster

    return apply_to_dagster(org_id)


def save_change(
    org_id: str, operation: Callable[[sa.Connection], ConfigChange]
) -> tuple[ConfigChange, DagsterUpdate | None]:
    """`org_config.save_change` on the configured database: saved and Dagster told, or nothing saved."""
    from accsync_pipeline.service import org_config
    from accsync_pipeline.store import orgs as org_store
    from accsync_pipeline.store.engine import create_engine

    engine = create_engine()
    try:
        return org_config.save_change(engine, _apply_to_dagster, operation)
    except org_store.UnknownOrganization as e:
        raise UserError(str(e)) from None
    finally:
        engine.dispose()


def report_dagster(update: DagsterUpdate | None) -> None:
    """What Dagster made of a saved change, when it was told: a line, or a warning on stderr."""
    if update is not None:
        click.echo(update.message if update.ok else f"warning: {update.message}", err=not update.ok)


class OrgGroup(click.Group):
    """`org`, whose editing commands are imported from `cli.org_edit` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *EDIT_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in EDIT_COMMANDS:
            return super().get_command(ctx, cmd_name)
        from accsync_pipeline.cli import org_edit

        found = getattr(org_edit, EDIT_COMMANDS[cmd_name])
        if not isinstance(found, click.Command):
            raise TypeError(f"accsync_pipeline.cli.org_edit.{EDIT_COMMANDS[cmd_name]} is not a click command")
        return found


@click.group("org", cls=OrgGroup)
def command() -> None:
    """Organizations and their integrations."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the configured organizations."""
    from accsync_pipeline.store.engine import create_engine

    if as_json:
        from accsync_pipeline.store import orgs as org_store

        engine = create_engine()
        with engine.connect() as conn:
            orgs = org_store.list_orgs(conn)
        engine.dispose()
        echo_json([org_as_dict(o) for o in orgs])
        return
    # The table shows only what the narrow listing reads: no settings model, no schedule parser.
    from accsync_pipeline.store.org_listing import org_listings

    engine = create_engine()
    with engine.connect() as conn:
        listings = org_listings(conn)
    engine.dispose()
    echo_table(
        ["ORG", "NAME", "CONNECTOR", "ENABLED", "SCHEDULE", "TIMEZONE"],
        [
            (
                o.org_id,
                o.name,
                o.connector_type,
                "yes" if o.enabled else "no",
                o.schedule_kind,
                o.timezone,
            )
            for o in listings
        ],
    )


@command.command("show")
@click.argument("org_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_command(org_id: str, as_json: bool) -> None:
    """Show one organization's integration configuration."""
    data = org_as_dict(load_org(org_id))
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict) and key == "connector_settings":
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


@command.command("test")
@click.argument("org_id", metavar="ORG")
def test_command(org_id: str) -> None:
    """Test the connection: authenticate and make one harmless read in the accounting system."""
    from accsync_pipeline.service import org_config

    check = org_config.test_connection(load_org(org_id))
    if not check.ok:
        raise UserError(f"connection failed: {check.message}")
    click.echo(f"connection OK: {check.message}")
