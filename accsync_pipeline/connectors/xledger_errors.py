"""Xledger answers to error classes. Xledger reports most errors inside an HTTP 200 body.

Sources: xledger/graphql-samples `GraphQLClient.cs` (throttling codes in `errors[].code`),
grasp-labs/ds-provider-xledger-py-lib `utils/rules.py` ("Your query timed out." with no
code, "bad format for api token", `INVALID_VALUE` in `extensions.code`).
"""

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
# Xledger's answer when a query or mutation runs too long; it carries no code. A mutation
# may have been stored all the same, so it is ambiguous, never fatal.
TIMED_OUT_MESSAGE = "your query timed out"
# Refusals of the request as a whole, before anything runs (GraphQL validates a document
# before executing it), so nothing can have been stored.
REQUEST_LEVEL_CODES = frozenset(
    {
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_REQUEST.INVALID_JSON",
        "BAD_REQUEST.TOO_MANY_INPUTS",
    }
)
# Xledger's texts are kept on a rejected record so an accountant sees why; bounded in length.
MAX_MESSAGE_LENGTH = 300


@dataclass(frozen=True)
class InputProblem:
    """One error Xledger reported while running the request: its code and its own text."""

    code: str | None
    message: str


@dataclass(frozen=True)
class GraphQLAnswer:
    """A parsed answer: `data`, plus the errors of running it.

    `input_errors` are keyed by the clientId they name; `unattributed` name no input. A
    mutation answer with either may still have stored some inputs (`data` null or partial).
    """

    data: dict[str, Any] | None
    input_errors: dict[str, list[InputProblem]] = field(default_factory=dict)
    unattributed: list[InputProblem] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.input_errors or self.unattributed)


def _error_code(error: dict[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = error.get("code") or (extensions.get("code") if isinstance(extensions, dict) else None)
    return str(code) if code else None


def validate_response(response: httpx.Response) -> GraphQLAnswer:
    """Map one Xledger answer to data and errors of execution, or raise an error by remedy.

    HTTP status first (gateways and load balancers speak HTTP), then the GraphQL `errors[]`:
    bad token, throttling, time-outs and request-level refusals raise; every other error is
    returned, so that the caller of a mutation can find out what was stored. Raised messages
    name codes and statuses only: Xledger's own texts can echo posted values.
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
    errors = body.get("errors") or []
    if not isinstance(errors, list):
        raise AmbiguousError("Xledger answered errors that are not a list")
    errors = [error if isinstance(error, dict) else {"message": str(error)} for error in errors]
    codes = [_error_code(error) for error in errors]
    messages = [str(error.get("message") or "") for error in errors]
    # Worst first: a bad token, then throttling, then time-outs, then the rest.
    if any(AUTH_MESSAGE in m.lower() for m in messages) or AUTH_CODES.intersection(codes):
        raise AuthenticationError(
            f"Xledger refused the API token ({AUTH_MESSAGE}); check token_env's variable"
        )
    for code in codes:
        if code in THROTTLE_WAIT_SECONDS:
            raise RetriableError(f"Xledger throttled the request ({code})", THROTTLE_WAIT_SECONDS[code])
    if any(code is None and TIMED_OUT_MESSAGE in m.lower() for code, m in zip(codes, messages, strict=True)):
        raise AmbiguousError("Xledger answered 'Your query timed out.'; it may have been applied")
    if TRANSIENT_CODES.intersection(codes):
        raise AmbiguousError(
            f"Xledger failed to answer ({', '.join(sorted(TRANSIENT_CODES.intersection(codes)))})"
        )
    if REQUEST_LEVEL_CODES.intersection(codes):
        raise FatalError(
            f"Xledger refused the request ({', '.join(sorted(REQUEST_LEVEL_CODES.intersection(codes)))})"
        )
    input_errors: dict[str, list[InputProblem]] = {}
    unattributed: list[InputProblem] = []
    for error, code, message in zip(errors, codes, messages, strict=True):
        problem = InputProblem(code, message[:MAX_MESSAGE_LENGTH] or "Xledger gave no message")
        extensions = error.get("extensions")
        client_id = extensions.get("clientId") if isinstance(extensions, dict) else None
        if client_id is None:
            unattributed.append(problem)
        else:
            input_errors.setdefault(str(client_id), []).append(problem)
    data = body.get("data")
    return GraphQLAnswer(
        data=data if isinstance(data, dict) else None, input_errors=input_errors, unattributed=unattributed
    )
