"""`accsync org …`: organizations and their integration configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.engine import create_engine


def org_as_dict(org: OrgConfig) -> dict[str, Any]:
    """Everything about an org that may be shown: settings hold names of secret variables, never values."""
    return dataclasses.asdict(org)


@click.group("org")
def command() -> None:
    """Organizations and their integrations."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the configured organizations."""
    engine = create_engine()
    with engine.connect() as conn:
        orgs = org_store.list_orgs(conn)
    engine.dispose()
    if as_json:
        echo_json([org_as_dict(o) for o in orgs])
        return
    echo_table(
        ["ORG", "NAME", "CONNECTOR", "ENABLED", "SCHEDULE", "TIMEZONE"],
        [
            (
                o.org_id,
                o.name,
                o.connector_type,
                "yes" if o.enabled else "no",
                o.schedule.get("kind"),
                o.timezone,
            )
            for o in orgs
        ],
    )


@command.command("show")
@click.argument("org_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_command(org_id: str, as_json: bool) -> None:
    """Show one organization's integration configuration."""
    engine = create_engine()
    with engine.connect() as conn:
        org = org_store.find_org(conn, org_id)
    engine.dispose()
    if org is None:
        raise UserError(f"unknown organization '{org_id}' (see `accsync org list`)")
    data = org_as_dict(org)
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
