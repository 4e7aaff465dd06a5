"""Errors of the service layer, grouped by what the caller can do about them.

    ServiceError
     ├── NotFound       no such thing (or another org's): check the name or id
     ├── Conflict       not now, in this state: wait, or change the state first
     ├── InvalidInput   values that cannot be used: fix them (`problems` names each field)
     └── Unavailable    a service accsync depends on cannot be reached: try again later

The admin service answers them with one HTTP status each (`web.errors`), the command line with
one message and exit code (`cli.errors`); neither maps them anywhere else. Messages are shown
to the user as they are, so they never carry secrets or a volunteer's personal data.
"""

from __future__ import annotations

from collections.abc import Iterable


class ServiceError(Exception):
    """Root of the service layer's expected failures; the message says what happened."""


class NotFound(ServiceError):
    """The thing asked for does not exist, or belongs to another org."""


class Conflict(ServiceError):
    """The request cannot be done in the current state (a sync is running, nothing to retry...)."""


Problem = tuple[str, str]


class InvalidInput(ServiceError, ValueError):
    """Values that cannot be used; `problems` holds (field, message) pairs."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))

    def lines(self) -> list[str]:
        """One line per problem, the field first."""
        return [f"{field}: {message}" for field, message in self.problems]


class Unavailable(ServiceError):
    """A service accsync depends on (Dagster) could not be reached or refused the request."""
