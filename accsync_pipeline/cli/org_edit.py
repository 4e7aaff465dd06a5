"""`accsync org add` and `accsync org set`: their options and help come from the connector models."""

from __future__ import annotations

import os
from typing import Any

import click
from pydantic_core import PydanticUndefined

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.org import report_dagster, save_change
from accsync_pipeline.connectors.registry import CONNECTOR_SETTINGS
from accsync_pipeline.domain.org import DEFAULT_TIMEZONE, ConnectorType, OrgConfig
from accsync_pipeline.service import org_config
from accsync_pipeline.service.org_settings import secret_variable_fields

# Offered by their values: click shows an enum choice by its member name.
CONNECTOR_CHOICES = sorted(t.value for t in ConnectorType)
CONNECTOR_TITLES: dict[str, str] = {
    ConnectorType.XLEDGER: "Xledger",
    ConnectorType.DYNAMICS: "Business Central (--connector dynamics)",
}


def parse_settings(assignments: tuple[str, ...], *, empty_removes: bool) -> dict[str, Any]:
    """KEY=VALUE pairs; an empty VALUE removes the key (back to its default) when `empty_removes`."""
    settings: dict[str, Any] = {}
    for position, assignment in enumerate(assignments, start=1):
        key, equals, value = assignment.partition("=")
        key = key.strip()
        if not equals or not key:
            # The text is not repeated: it may be a secret pasted in the wrong place.
            raise UserError(f"--setting number {position} is not KEY=VALUE; nothing saved")
        if value.strip():
            settings[key] = value.strip()
        elif empty_removes:
            settings[key] = None
    return settings


def _warn_unset_secret_variables(org: OrgConfig) -> None:
    for field in secret_variable_fields(org.connector_type):
        variable = org.connector_settings.stored().get(field)
        if variable and not os.environ.get(variable):
            click.echo(
                f"note: {variable} ({field}) is not set here; Dagster's processes need it, "
                f"and so does `accsync org test {org.org_id}`",
                err=True,
            )


def settings_help() -> str:
    """The settings each connector takes, from the connector's own settings model."""
    lines = ["\b", "Settings (--setting KEY=VALUE):"]
    for connector_type, model in CONNECTOR_SETTINGS.items():
        lines.append(f"  {CONNECTOR_TITLES.get(connector_type, connector_type)}:")
        for name, info in model.model_fields.items():
            default = "required" if info.is_required() else "optional"
            if info.default not in (None, PydanticUndefined):
                default += f", default {info.default}"
            about = f" {info.description}" if info.description else ""
            lines.append(f"    {name} ({default}).{about}")
    lines.append("  Secrets are never stored: *_env settings name the variable that holds them.")
    return "\n".join(lines)


@click.command("add", epilog=settings_help())
@click.argument("org_id", metavar="ORG")
@click.option("--name", required=True, help="Display name of the organization.")
@click.option("--connector", "connector_type", required=True, type=click.Choice(CONNECTOR_CHOICES))
@click.option("--setting", "assignments", multiple=True, metavar="KEY=VALUE", help="A connector setting.")
@click.option("--timezone", default=DEFAULT_TIMEZONE, show_default=True, help="IANA timezone of the org.")
@click.option("--disabled", is_flag=True, help="Save it disabled: nothing syncs until `org set --enable`.")
def add_command(
    org_id: str, name: str, connector_type: str, assignments: tuple[str, ...], timezone: str, disabled: bool
) -> None:
    """Add an organization's integration. ORG is the app's organization slug.

    Its schedule starts as Manual only; set one with `accsync schedule set`.
    """
    settings = parse_settings(assignments, empty_removes=False)
    change, update = save_change(
        org_id,
        lambda conn: org_config.add_org(
            conn, org_id, name, connector_type, settings, timezone=timezone, enabled=not disabled
        ),
    )
    org = change.after
    state = "enabled" if org.enabled else "disabled"
    click.echo(
        f"added {org.org_id} ({org.connector_type}, {state}); check it with `accsync org test {org_id}`"
    )
    report_dagster(update)
    _warn_unset_secret_variables(org)


@click.command("set", epilog=settings_help())
@click.argument("org_id", metavar="ORG")
@click.option("--setting", "assignments", multiple=True, metavar="KEY=VALUE", help="KEY= resets to default.")
@click.option("--connector", "connector_type", type=click.Choice(CONNECTOR_CHOICES), help="Switch.")
@click.option("--name", help="New display name.")
@click.option("--enable/--disable", "enabled", default=None, help="Turn syncing on or off.")
def set_command(
    org_id: str,
    assignments: tuple[str, ...],
    connector_type: str | None,
    name: str | None,
    enabled: bool | None,
) -> None:
    """Change an organization's connector settings, or enable or disable its integration.

    Switching --connector starts from empty settings: give all the new connector's settings.
    """
    settings = parse_settings(assignments, empty_removes=True)
    if not settings and connector_type is None and name is None and enabled is None:
        raise UserError("nothing to change: give --setting, --connector, --name, --enable or --disable")
    change, update = save_change(
        org_id,
        lambda conn: org_config.update_integration(
            conn, org_id, settings, enabled=enabled, connector_type=connector_type, name=name
        ),
    )
    org = change.after
    if change.before == org:
        click.echo(f"{org_id} unchanged")
        return
    click.echo(f"saved {org_id} ({org.connector_type}, {'enabled' if org.enabled else 'disabled'})")
    report_dagster(update)
    _warn_unset_secret_variables(org)
