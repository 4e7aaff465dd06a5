"""The `accsync` command line. Each command group lives in its own module below.

Commands load lazily: the root group knows each command's module and one-line help from the
table below and imports a module only when its command runs. Dagster alone takes seconds
to import, and reading commands (`--help`, `org list`, `history`, `notifications`,
`schedule describe`) need none of it; `make bench-cli` measures their start.
"""

from __future__ import annotations

import importlib

import click

from accsync_pipeline.cli.errors import run_cli, user_error
from accsync_pipeline.service.errors import ServiceError

# name → (module under accsync_pipeline.cli exposing `command`, its one-line help for --help).
# A test checks each line against the command's own docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "alerts": (
        "alerts",
        "Alert rules: the alert sensor evaluates them every 30 seconds; ops can do it at once.",
    ),
    "db": ("db", "The accsync database."),
    "demo": ("demo", "Demo data."),
    "history": ("history", "The org's sync log: past runs, newest first."),
    "notifications": ("notifications", "List a user's notifications, newest first."),
    "org": ("org", "Organizations and their integrations."),
    "reconcile": (
        "reconcile",
        "Every exported record in the ledger exactly once, and nothing of ours without a record.",
    ),
    "run": (
        "run",
        "Start everything locally (embedded SQLite, sandboxes, Dagster, admin service); Ctrl-C stops it all.",
    ),
    "sandbox": ("sandbox", "Serve a local emulator of an accounting system's API."),
    "schedule": ("schedule", "Sync schedules: when each organization's sync runs."),
    "sync": (
        "sync",
        "Launch an organization's sync (through Dagster's GraphQL API when ACCSYNC_DAGSTER_URL is set).",
    ),
    "web": ("web", "Serve the admin service: the JSON API under /api (OpenAPI at /docs) and the screens."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, listed from a static table."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = importlib.import_module(f"accsync_pipeline.cli.{entry[0]}").command
        if not isinstance(command, click.Command):
            raise TypeError(f"accsync_pipeline.cli.{entry[0]}.command is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> object:
        """Service errors become one clear line and an exit code (`cli.errors.user_error`)."""
        try:
            return super().invoke(ctx)
        except ServiceError as e:
            raise user_error(e) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, from the table: no command module is imported for it."""
        rows = [(name, help_text) for name, (_, help_text) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def root() -> None:
    """accsync: post approved expenses and honorariums into Xledger and Business Central."""


def main() -> None:
    run_cli(root)
