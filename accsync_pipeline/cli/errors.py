"""Turns expected failures into one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import sqlalchemy.exc

from accsync_pipeline.store.engine import database_url, redact_url


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
    except sqlalchemy.exc.OperationalError as e:
        detail = str(e.orig).strip().splitlines()[0] if e.orig else "unknown error"
        click.echo(
            f"error: cannot use the accsync database at {redact_url(database_url())}: {detail}", err=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
