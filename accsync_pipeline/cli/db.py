"""`accsync db upgrade`: migrate the accsync database to the newest schema."""

from __future__ import annotations

import click

from accsync_pipeline.store.engine import create_engine, redact_url
from accsync_pipeline.store.migrate import upgrade


@click.group("db")
def command() -> None:
    """The accsync database."""


@command.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate the accsync database (ACCSYNC_DATABASE_URL, default .accsync/accsync.db)."""
    engine = create_engine()
    upgrade(engine)
    click.echo(f"accsync database is up to date: {redact_url(str(engine.url))}")
    engine.dispose()
