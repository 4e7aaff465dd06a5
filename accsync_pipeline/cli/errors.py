"""Turns expected failures into one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import sqlalchemy.exc

from accsync_pipeline.service.errors import InvalidInput, ServiceError
from accsync_pipeline.store.engine import DatabaseUnavailable, database_url, first_line, redact_url


class UserError(click.ClickException):
    """A problem the user can fix; the message says how."""


def user_error(error: ServiceError) -> UserError:
    """What a service error says on the command line: its message (invalid input: one line per field).

    Every kind (not found, conflict, invalid input, unavailable) exits 1, a problem the user can
    act on; exit code 2 is kept for a database the CLI cannot use at all (`run_cli`).
    """
    if isinstance(error, InvalidInput):
        return UserError("nothing saved:\n  " + "\n  ".join(error.lines()))
    return UserError(str(error))


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
