"""Business Central answers to error classes: one table for whole responses and `$batch` items alike."""

from __future__ import annotations

import json
from typing import Any

import httpx

from accsync_pipeline.connectors.errors import (
    AmbiguousError,
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    FatalError,
    RecordRejected,
    RetriableError,
)
from accsync_pipeline.connectors.http import parse_retry_after

# The request may have been applied before the failure: resolve by lookup before resending.
AMBIGUOUS_STATUSES = frozenset({408, 500, 502, 503, 504})
# The insert failed on a key clash (concurrent line numbers in one journal); nothing was stored.
RETRIABLE_CODES = frozenset({"Internal_EntityWithSameKeyExists"})


def error_body(body: Any) -> tuple[str | None, str]:
    """(code, message) from an OData error body `{"error": {"code", "message"}}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    return (str(code) if code else None), str(error.get("message", ""))


def error_for(status: int, code: str | None, retry_after: float | None = None) -> ConnectorError | None:
    """The error one Business Central answer means, or None for success.

    Messages carry the status and code only; BC's own message can echo posted values and
    is passed on separately as a rejection reason.
    """
    label = f"HTTP {status}" + (f" {code}" if code else "")
    if 200 <= status < 300:
        return None
    if status == 401 or (code or "").startswith("Authentication_"):
        return AuthenticationError(
            f"Business Central refused the credentials ({label}); check client_id and secret"
        )
    if status == 403:
        return AuthenticationError(f"the app registration may not use this company or journal ({label})")
    if status == 404:
        return ConfigurationError(f"Business Central found no such company, journal or environment ({label})")
    if status == 429:
        return RetriableError(f"Business Central throttled the request ({label})", retry_after)
    if status in AMBIGUOUS_STATUSES:
        return AmbiguousError(f"Business Central failed to answer ({label})", retry_after)
    if code in RETRIABLE_CODES:
        return RetriableError(f"Business Central could not store the line yet ({label})", retry_after)
    if 400 <= status < 500:
        return RecordRejected(f"Business Central refused the line ({label})", code)
    return FatalError(f"unexpected answer from Business Central ({label})")


def validate_response(response: httpx.Response) -> Any:
    """The JSON body of a whole response, or the error it means.

    A refusal of a whole request is our fault, not the record's, so it becomes fatal.
    """
    try:
        body = response.json() if response.content else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    code, _ = error_body(body)
    error = error_for(response.status_code, code, parse_retry_after(response.headers.get("Retry-After")))
    if isinstance(error, RecordRejected):
        raise FatalError(
            f"Business Central refused the request (HTTP {response.status_code} {code})"
        ) from error
    if error is not None:
        raise error
    if body is None:
        raise AmbiguousError("Business Central answered with something that is not JSON")
    return body
