"""Connector errors, grouped by what the caller should do about them.

    ConnectorError
     ├── RetriableError      try the same request again later (network, 5xx, 429, throttling)
     │    └── AmbiguousError the request may have been applied: look the keys up before resending
     ├── FatalError          stop; a person must fix something before any retry helps
     │    ├── AuthenticationError   bad or expired credentials
     │    └── ConfigurationError    wrong URL, unknown company/journal, missing secret variable
     ├── RecordRejected      the system refused this record: fail the record, continue with the rest
     └── DataError           the record cannot be exported as it stands: skip it with a reason

Messages never contain tokens, secrets or a volunteer's personal data.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Root of every error a connector raises."""


class RetriableError(ConnectorError):
    """Transient: the same request may succeed later. `retry_after` is in seconds when the server said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AmbiguousError(RetriableError):
    """The request left but its outcome is unknown (timeout, reset, lost response, 5xx after send)."""


class FatalError(ConnectorError):
    """Retrying cannot help until a person changes configuration or credentials."""


class AuthenticationError(FatalError):
    """Credentials were refused."""


class ConfigurationError(FatalError):
    """Settings point at something that does not exist or cannot be reached as configured."""


class RecordRejected(ConnectorError):
    """The accounting system refused one record; `code` is the system's error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class DataError(ConnectorError):
    """The record cannot be exported as it stands."""
