"""`accsync notifications`: a user's in-app notifications, newest first."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.org_listing import org_listings


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _default_timezone() -> str:
    # Imported only here: the org module loads the schedule parser, which users of an org skip.
    from accsync_pipeline.domain.org import DEFAULT_TIMEZONE

    return DEFAULT_TIMEZONE


@click.command("notifications")
@click.option("--user", "user_id", required=True, help="The user whose notifications to list.")
@click.option("--unread", is_flag=True, help="Only notifications not read yet.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (times in UTC).")
@click.option(
    "--limit",
    default=notification_store.DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(1),
    help="Show at most this many.",
)
def command(user_id: str, unread: bool, as_json: bool, limit: int) -> None:
    """List a user's notifications, newest first."""
    engine = create_engine()
    with engine.connect() as conn:
        user = user_store.find_user(conn, user_id)
        if user is None:
            engine.dispose()
            raise UserError(f"unknown user '{user_id}'")
        found = notification_store.list_for_user(conn, user_id, unread_only=unread, limit=limit)
        # Times are shown in the org's timezone; a global administrator sees the default one.
        # Its listing is enough: the configuration would load the settings models for nothing.
        orgs = org_listings(conn, [user.org_id]) if user.org_id else []
    engine.dispose()
    if as_json:
        echo_json([dataclasses.asdict(n) for n in found])
        return
    if not found:
        click.echo(f"no {'unread ' if unread else ''}notifications for {user_id}")
        return
    zone = ZoneInfo(orgs[0].timezone if orgs else _default_timezone())
    echo_table(
        ["ID", "CREATED", "SEVERITY", "READ", "TITLE", "LINK"],
        [
            (
                n.notification_id,
                _local(n.created_at, zone),
                n.severity,
                _local(n.read_at, zone),
                n.title,
                n.link,
            )
            for n in found
        ],
    )
