"""Turns expected failures into one clear line on stderr and a non-zero exit, never a traceback.

SQLAlchemy is not imported here: it takes a third of a second, which `--help` and the commands
that never open the database would pay. A database error can only come from a process that has
imported `store.engine` (and SQLAlchemy with it), so the handler imports them only then.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from accsync_pipeline.service.errors import InvalidInput, ServiceError


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


def database_problem(error: Exception) -> str | None:
    """The one line for an accsync database the CLI cannot use, or None for any other error."""
    if "accsync_pipeline.store.engine" not in sys.modules:
        return None  # nothing has touched the database
    import sqlalchemy.exc  # loaded already, with store.engine

    from accsync_pipeline.store.engine import DatabaseUnavailable, database_url, first_line, redact_url

    if isinstance(error, DatabaseUnavailable):
        return f"error: {error}"
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return None
    # OperationalError (unreachable, locked, no such table), DatabaseError (not a database file), ...
    detail = first_line(error)
    if "no such table" in detail or "does not exist" in detail:
        detail += " (run `accsync db upgrade`)"
    return f"error: cannot use the accsync database at {redact_url(database_url())}: {detail}"


def run_cli(group: click.Group) -> NoReturn:
    try:
        result = group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        line = database_problem(e)
        if line is None:
            raise
        click.echo(line, err=True)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
