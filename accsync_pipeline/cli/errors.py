"""Turns expected failures into one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import sqlalchemy.exc

from accsync_pipeline.store.engine import DatabaseUnavailable, database_url, first_line, redact_url


class UserError(click.ClickException):
    """A problem the user can fix; the message says how."""


def run_cli(group: click.Group) -> NoReturn:
    try:
        result = group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except DatabaseUnavailable as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except sqlalchemy.exc.DBAPIError as e:
        # OperationalError (unreachable, locked, no such table), DatabaseError (not a database file), ...
        detail = first_line(e)
        if "no such table" in detail or "does not exist" in detail:
            detail += " (run `accsync db upgrade`)"
        click.echo(
            f"error: cannot use the accsync database at {redact_url(database_url())}: {detail}", err=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
