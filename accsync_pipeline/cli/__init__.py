"""The `accsync` command line. Each command group lives in its own module below."""

from __future__ import annotations

import importlib

import click

from accsync_pipeline.cli.errors import run_cli

# Each module exposes `command`, a click command or group added to the root group.
COMMAND_MODULES = (
    "db",
    "demo",
    "org",
    "sync",
    "history",
    "reconcile",
    "schedule",
    "sandbox",
    "run",
    "notifications",
    "alerts",
    "web",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def root() -> None:
    """accsync: post approved expenses and honorariums into Xledger and Business Central."""


for _name in COMMAND_MODULES:
    root.add_command(importlib.import_module(f"accsync_pipeline.cli.{_name}").command)


def main() -> None:
    run_cli(root)
