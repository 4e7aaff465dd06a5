"""Xledger answers to error classes. Xledger reports most errors inside an HTTP 200 body."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from accsync_pipeline.connectors.errors import (
    AmbiguousError,
    AuthenticationError,
    ConfigurationError,
    FatalError,
    RetriableError,
)
from accsync_pipeline.connectors.http import parse_retry_after

# Seconds to wait when Xledger throttles without saying how long (it does not send Retry-After).
THROTTLE_WAIT_SECONDS = {
    "BAD_REQUEST.BURST_RATE_LIMIT_REACHED": 1.0,
    "BAD_REQUEST.CONCURRENCY_LIMIT_REACHED": 0.5,
    # Credits refill over the hour: longer than a connector should wait, so the pipeline retries later.
    "BAD_REQUEST.INSUFFICIENT_CREDITS": 60.0,
}
AUTH_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN", "AUTH_NOT_AUTHORIZED"})
AUTH_MESSAGE = "bad format for api token"
TRANSIENT_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


@dataclass(frozen=True)
class InputProblem:
    code: str | None
    message: str


@dataclass(frozen=True)
class GraphQLAnswer:
    """A parsed answer: `data`, or the inputs Xledger refused keyed by their clientId."""

    data: dict[str, Any] | None
    input_errors: dict[str, InputProblem] = field(default_factory=dict)


def _error_code(error: dict[str, Any]) -> str | None:
    extensions = error.get("extensions") or {}
    code = error.get("code") or extensions.get("code")
    return str(code) if code else None


def validate_response(response: httpx.Response) -> GraphQLAnswer:
    """Map one Xledger answer to data, per-input problems, or an error by remedy.

    HTTP status first (gateways and load balancers speak HTTP), then the GraphQL `errors[]`.
    Messages name codes and statuses only: Xledger's own texts can echo posted values.
    """
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (401, 403):
        raise AuthenticationError(
            f"Xledger refused the API token (HTTP {status}); check the variable named by token_env"
        )
    if status == 404:
        raise ConfigurationError("no Xledger GraphQL endpoint at the configured base_url (HTTP 404)")
    if status == 429:
        raise RetriableError("Xledger throttled the request (HTTP 429)", retry_after)
    if status == 408 or status >= 500:
        raise AmbiguousError(f"Xledger failed to answer (HTTP {status})", retry_after)
    if status >= 400:
        raise FatalError(f"Xledger refused the request (HTTP {status})")
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AmbiguousError("Xledger answered with something that is not JSON") from e
    if not isinstance(body, dict):
        raise AmbiguousError("Xledger answered with JSON that is not an object")
    input_errors: dict[str, InputProblem] = {}
    other_codes: list[str] = []
    for error in body.get("errors") or []:
        code, message = _error_code(error), str(error.get("message", ""))
        if AUTH_MESSAGE in message.lower() or code in AUTH_CODES:
            raise AuthenticationError(
                f"Xledger refused the API token ({AUTH_MESSAGE}); check token_env's variable"
            )
        if code in THROTTLE_WAIT_SECONDS:
            raise RetriableError(f"Xledger throttled the request ({code})", THROTTLE_WAIT_SECONDS[code])
        client_id = (error.get("extensions") or {}).get("clientId")
        if client_id is not None:
            input_errors[str(client_id)] = InputProblem(code, message)
        else:
            other_codes.append(code or "UNKNOWN")
    if any(code in TRANSIENT_CODES for code in other_codes):
        raise AmbiguousError(f"Xledger failed to answer ({', '.join(other_codes)})")
    if other_codes:
        raise FatalError(f"Xledger refused the request ({', '.join(other_codes)})")
    data = body.get("data")
    return GraphQLAnswer(data=data if isinstance(data, dict) else None, input_errors=input_errors)
