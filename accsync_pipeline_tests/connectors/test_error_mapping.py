"""Status and error codes to error classes, one table per accounting system."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from accsync_pipeline.connectors import dynamics_errors, xledger_errors
from accsync_pipeline.connectors.errors import (
    AmbiguousError,
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    FatalError,
    RecordRejected,
    RetriableError,
)
from accsync_pipeline.connectors.http import parse_retry_after, redact_headers, redact_url


def xledger_answer(errors: list[dict[str, Any]], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": None, "errors": errors})


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            xledger_answer([{"message": "Authorization failed: bad format for api token"}]),
            AuthenticationError,
        ),
        (xledger_answer([{"message": "x", "code": "BAD_REQUEST.BURST_RATE_LIMIT_REACHED"}]), RetriableError),
        (
            xledger_answer(
                [{"message": "x", "extensions": {"code": "BAD_REQUEST.CONCURRENCY_LIMIT_REACHED"}}]
            ),
            RetriableError,
        ),
        (xledger_answer([{"message": "x", "code": "BAD_REQUEST.INSUFFICIENT_CREDITS"}]), RetriableError),
        (xledger_answer([{"message": "x", "code": "INTERNAL_SERVER_ERROR"}]), AmbiguousError),
        (xledger_answer([{"message": "x", "code": "GRAPHQL_VALIDATION_FAILED"}]), FatalError),
        # DESIGN: a bad token's message contains `Bad format for API Token`, with or without a code.
        (xledger_answer([{"message": "Bad format for API Token"}]), AuthenticationError),
        # DESIGN: "Your query timed out." has no code and may have been applied: ambiguous, never fatal.
        (xledger_answer([{"message": "Your query timed out."}]), AmbiguousError),
        (
            xledger_answer(
                [
                    {"message": "Invalid value for field account", "extensions": {"code": "INVALID_VALUE"}},
                    {"message": "Your query timed out."},
                ]
            ),
            AmbiguousError,
        ),
        (
            xledger_answer(
                [
                    {"message": "x", "extensions": {"clientId": "0D", "code": "INVALID_VALUE"}},
                    {"message": "x", "code": "BAD_REQUEST.BURST_RATE_LIMIT_REACHED"},
                ]
            ),
            RetriableError,
        ),
        (xledger_answer([{"message": "x", "code": "BAD_REQUEST.TOO_MANY_INPUTS"}]), FatalError),
        (httpx.Response(200, json={"data": None, "errors": "boom"}), AmbiguousError),
        (xledger_answer([], status=401), AuthenticationError),
        (xledger_answer([], status=403), AuthenticationError),
        (xledger_answer([], status=404), ConfigurationError),
        (xledger_answer([], status=429), RetriableError),
        (xledger_answer([], status=500), AmbiguousError),
        (xledger_answer([], status=502), AmbiguousError),
        (xledger_answer([], status=504), AmbiguousError),
        (xledger_answer([], status=400), FatalError),
        (httpx.Response(200, text="<html>gateway</html>"), AmbiguousError),
    ],
)
def test_xledger_errors(response: httpx.Response, expected: type[ConnectorError]) -> None:
    with pytest.raises(expected) as raised:
        xledger_errors.validate_response(response)
    assert type(raised.value) is expected


def test_xledger_input_errors_are_returned_by_client_id() -> None:
    answer = xledger_errors.validate_response(
        xledger_answer(
            [
                {
                    "message": "Invalid value for field amount",
                    "extensions": {"clientId": "3D", "code": "INVALID_VALUE"},
                }
            ]
        )
    )
    assert answer.input_errors["3D"][0].code == "INVALID_VALUE"


@pytest.mark.parametrize(
    ("error", "named"),
    [
        ({"message": "Invalid value for field account", "extensions": {"code": "INVALID_VALUE"}}, False),
        ({"message": "Invalid value for field account", "code": "INVALID_VALUE"}, False),
        ({"message": "Something else went wrong"}, False),
        ({"message": "Invalid", "extensions": {"code": "INVALID_VALUE", "clientId": "1C"}}, True),
        ("not an object", False),
    ],
)
def test_xledger_execution_errors_are_returned_for_a_lookup(error: Any, named: bool) -> None:
    """DESIGN: any mutation answer with errors is followed by a lookup: execution errors are returned."""
    answer = xledger_errors.validate_response(
        httpx.Response(200, json={"data": {"addGLImportItems": None}, "errors": [error]})
    )
    assert answer.has_errors
    assert bool(answer.input_errors) is named and bool(answer.unattributed) is not named


def test_xledger_throttle_waits_are_bounded() -> None:
    with pytest.raises(RetriableError) as raised:
        xledger_errors.validate_response(
            xledger_answer([{"message": "x", "code": "BAD_REQUEST.BURST_RATE_LIMIT_REACHED"}])
        )
    assert raised.value.retry_after == 1.0


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, None, None),
        (201, None, None),
        (401, "Authentication_InvalidCredentials", AuthenticationError),
        (400, "Authentication_InvalidCredentials", AuthenticationError),
        (403, None, AuthenticationError),
        (404, "BadRequest_NotFound", ConfigurationError),
        (429, None, RetriableError),
        (408, None, AmbiguousError),
        (500, None, AmbiguousError),
        (502, None, AmbiguousError),
        (503, None, AmbiguousError),
        (504, None, AmbiguousError),
        (400, "Application_FieldValidationException", RecordRejected),
        (400, "BadRequest_PropertyNotFound", RecordRejected),
        (400, "Application_StringExceededLength", RecordRejected),
        (409, "Internal_EntityWithSameKeyExists", RetriableError),
        (400, "Internal_EntityWithSameKeyExists", RetriableError),
        (501, None, FatalError),
    ],
)
def test_dynamics_errors(status: int, code: str | None, expected: type[ConnectorError] | None) -> None:
    error = dynamics_errors.error_for(status, code, retry_after=2.0)
    assert type(error) is expected if expected else error is None
    if isinstance(error, RetriableError):
        assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (400, {"error": {"code": "BadRequest", "message": "x"}}, {}, FatalError),
        (429, {"error": {"code": "x", "message": "x"}}, {"Retry-After": "7"}, RetriableError),
        (503, b"", {}, AmbiguousError),
        (200, b"not json", {}, AmbiguousError),
        (
            401,
            {"error": {"code": "Authentication_InvalidCredentials", "message": "x"}},
            {},
            AuthenticationError,
        ),
    ],
)
def test_dynamics_whole_responses(
    status: int, body: Any, headers: dict[str, str], expected: type[ConnectorError]
) -> None:
    response = (
        httpx.Response(status, content=body, headers=headers)
        if isinstance(body, bytes)
        else httpx.Response(status, json=body, headers=headers)
    )
    with pytest.raises(expected) as raised:
        dynamics_errors.validate_response(response)
    assert type(raised.value) is expected
    if status == 429:
        assert raised.value.retry_after == 7  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        ("soon", None),
        ("Thu, 01 Jan 1970 00:01:40 GMT", 60.0),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=40.0) == expected


def test_redaction() -> None:
    assert (
        redact_url("https://user:pw@host:8443/token?client_secret=abc&x=1")
        == "https://host:8443/token?client_secret=***&x=1"
    )
    assert redact_headers({"Authorization": "Bearer abc", "Accept": "json"}) == {
        "Authorization": "***",
        "Accept": "json",
    }
