"""`accsync demo seed`: the demo organizations, users and approved records."""

from __future__ import annotations

import click

from accsync_pipeline.service import demo
from accsync_pipeline.store.engine import create_engine


@click.group("demo")
def command() -> None:
    """Demo data."""


@command.command("seed")
def seed_command() -> None:
    """Add HLF, Blindeforbundet, their administrators and a few hundred approved records (once)."""
    engine = create_engine()
    with engine.begin() as conn:
        added = demo.seed(conn)
    engine.dispose()
    click.echo("demo data added" if added else "demo data already present; nothing changed")
