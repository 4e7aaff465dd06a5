"""Each answer of Business Central and Xledger becomes one error class with one exact message.

The messages are what an administrator reads on the run's page: they name the status and the
system's code, never the system's own text (it can echo posted values). Table-driven: the
answer, the class, the message, and what the caller acts on (`retry_after`, `code`).
"""

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
from accsync_pipeline.connectors.xledger_errors import GraphQLAnswer, InputProblem


def test_the_remedy_attributes_are_kept() -> None:
    retriable = RetriableError("Business Central throttled the request (HTTP 429)", 2.5)
    assert (str(retriable), retriable.retry_after) == (
        "Business Central throttled the request (HTTP 429)",
        2.5,
    )
    assert RetriableError("x").retry_after is None
    rejected = RecordRejected("Business Central refused the line (HTTP 400 X)", "X")
    assert (str(rejected), rejected.code) == ("Business Central refused the line (HTTP 400 X)", "X")
    assert RecordRejected("x").code is None


# --- Business Central -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected", "message"),
    [
        (200, None, None, None),
        (204, None, None, None),
        (299, "Anything", None, None),
        (
            401,
            None,
            AuthenticationError,
            "Business Central refused the credentials (HTTP 401); check client_id and secret",
        ),
        (
            400,
            "Authentication_InvalidCredentials",
            AuthenticationError,
            "Business Central refused the credentials (HTTP 400 Authentication_InvalidCredentials);"
            " check client_id and secret",
        ),
        (
            403,
            None,
            AuthenticationError,
            "the app registration may not use this company or journal (HTTP 403)",
        ),
        (
            404,
            "BadRequest_NotFound",
            ConfigurationError,
            "Business Central found no such company, journal or environment (HTTP 404 BadRequest_NotFound)",
        ),
        (429, None, RetriableError, "Business Central throttled the request (HTTP 429)"),
        (408, None, AmbiguousError, "Business Central failed to answer (HTTP 408)"),
        (500, "Internal", AmbiguousError, "Business Central failed to answer (HTTP 500 Internal)"),
        (
            409,
            "Internal_EntityWithSameKeyExists",
            RetriableError,
            "Business Central could not store the line yet (HTTP 409 Internal_EntityWithSameKeyExists)",
        ),
        (
            400,
            "Application_FieldValidationException",
            RecordRejected,
            "Business Central refused the line (HTTP 400 Application_FieldValidationException)",
        ),
        (499, None, RecordRejected, "Business Central refused the line (HTTP 499)"),
        (300, None, FatalError, "unexpected answer from Business Central (HTTP 300)"),
        (501, None, FatalError, "unexpected answer from Business Central (HTTP 501)"),
    ],
)
def test_business_central_answers(
    status: int, code: str | None, expected: type[ConnectorError] | None, message: str | None
) -> None:
    error = dynamics_errors.error_for(status, code, retry_after=2.0)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    assert str(error) == message
    if isinstance(error, RetriableError):
        assert error.retry_after == 2.0
    if isinstance(error, RecordRejected):
        assert error.code == code


def test_a_business_central_retry_after_is_optional() -> None:
    error = dynamics_errors.error_for(429, None)
    assert isinstance(error, RetriableError) and error.retry_after is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"code": "BadRequest", "message": "Amount must be positive"}},
            ("BadRequest", "Amount must be positive"),
        ),
        ({"error": {"code": 42}}, ("42", "")),
        ({"error": {"code": "", "message": "no code"}}, (None, "no code")),
        ({"error": {"message": "only a message"}}, (None, "only a message")),
        ({"error": "a string"}, (None, "")),
        ({"value": []}, (None, "")),
        (["error"], (None, "")),
        (None, (None, "")),
    ],
)
def test_business_central_error_bodies(body: Any, expected: tuple[str | None, str]) -> None:
    assert dynamics_errors.error_body(body) == expected


def bc_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("response", "expected", "message"),
    [
        (
            bc_response(400, {"error": {"code": "BadRequest_Invalid", "message": "x"}}),
            FatalError,
            "Business Central refused the request (HTTP 400 BadRequest_Invalid)",
        ),
        (
            bc_response(429, {"error": {"code": "x"}}, {"Retry-After": "7"}),
            RetriableError,
            "Business Central throttled the request (HTTP 429 x)",
        ),
        (
            bc_response(409, {"error": {"code": "Internal_EntityWithSameKeyExists"}}),
            RetriableError,
            "Business Central could not store the line yet (HTTP 409 Internal_EntityWithSameKeyExists)",
        ),
        (bc_response(503, b""), AmbiguousError, "Business Central failed to answer (HTTP 503)"),
        (
            bc_response(200, b"<html>proxy</html>"),
            AmbiguousError,
            "Business Central answered with something that is not JSON",
        ),
        (
            bc_response(200, b"\xff\xfe"),
            AmbiguousError,
            "Business Central answered with something that is not JSON",
        ),
    ],
)
def test_business_central_whole_responses(
    response: httpx.Response, expected: type[ConnectorError], message: str
) -> None:
    with pytest.raises(ConnectorError) as raised:
        dynamics_errors.validate_response(response)
    assert type(raised.value) is expected
    assert str(raised.value) == message
    if response.status_code == 429:
        assert raised.value.retry_after == 7.0  # type: ignore[attr-defined]


def test_a_refused_whole_request_keeps_the_rejection_as_its_cause() -> None:
    with pytest.raises(FatalError) as raised:
        dynamics_errors.validate_response(bc_response(400, {"error": {"code": "BadRequest_Invalid"}}))
    cause = raised.value.__cause__
    assert isinstance(cause, RecordRejected) and cause.code == "BadRequest_Invalid"


@pytest.mark.parametrize(
    ("response", "body"),
    [
        (bc_response(200, {"value": [{"id": "1"}]}), {"value": [{"id": "1"}]}),
        (httpx.Response(204), {}),
        (httpx.Response(201, content=b""), {}),
    ],
)
def test_business_central_successes_give_the_body(response: httpx.Response, body: Any) -> None:
    assert dynamics_errors.validate_response(response) == body


# --- Xledger ----------------------------------------------------------------------------------


def xledger(errors: Any = None, status: int = 200, data: Any = None, **headers: str) -> httpx.Response:
    body: dict[str, Any] = {"data": data}
    if errors is not None:
        body["errors"] = errors
    return httpx.Response(status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("response", "expected", "message", "retry_after"),
    [
        (
            xledger(status=401),
            AuthenticationError,
            "Xledger refused the API token (HTTP 401); check the variable named by token_env",
            None,
        ),
        (
            xledger(status=403),
            AuthenticationError,
            "Xledger refused the API token (HTTP 403); check the variable named by token_env",
            None,
        ),
        (
            xledger(status=404),
            ConfigurationError,
            "no Xledger GraphQL endpoint at the configured base_url (HTTP 404)",
            None,
        ),
        (
            xledger(status=429, Retry_After="9"),
            RetriableError,
            "Xledger throttled the request (HTTP 429)",
            9.0,
        ),
        (xledger(status=408, Retry_After="3"), AmbiguousError, "Xledger failed to answer (HTTP 408)", 3.0),
        (xledger(status=409), FatalError, "Xledger refused the request (HTTP 409)", None),
        (xledger(status=499), FatalError, "Xledger refused the request (HTTP 499)", None),
        (xledger(status=500), AmbiguousError, "Xledger failed to answer (HTTP 500)", None),
        (
            httpx.Response(200, text="<html>gateway</html>"),
            AmbiguousError,
            "Xledger answered with something that is not JSON",
            None,
        ),
        (
            httpx.Response(200, content=b"\xff\xfe"),
            AmbiguousError,
            "Xledger answered with something that is not JSON",
            None,
        ),
        (
            httpx.Response(200, json=["data"]),
            AmbiguousError,
            "Xledger answered with JSON that is not an object",
            None,
        ),
        (xledger("boom"), AmbiguousError, "Xledger answered errors that are not a list", None),
        (
            xledger([{"message": "Authorization failed: Bad format for API token"}]),
            AuthenticationError,
            "Xledger refused the API token (bad format for api token); check token_env's variable",
            None,
        ),
        (
            xledger([{"message": "x", "code": "FORBIDDEN"}]),
            AuthenticationError,
            "Xledger refused the API token (bad format for api token); check token_env's variable",
            None,
        ),
        (
            xledger([{"message": "x", "code": "BAD_REQUEST.CONCURRENCY_LIMIT_REACHED"}]),
            RetriableError,
            "Xledger throttled the request (BAD_REQUEST.CONCURRENCY_LIMIT_REACHED)",
            0.5,
        ),
        (
            xledger([{"message": "Your query timed out."}]),
            AmbiguousError,
            "Xledger answered 'Your query timed out.'; it may have been applied",
            None,
        ),
        (
            xledger([{"message": "x", "code": "TIMEOUT"}, {"message": "x", "code": "SERVICE_UNAVAILABLE"}]),
            AmbiguousError,
            "Xledger failed to answer (SERVICE_UNAVAILABLE, TIMEOUT)",
            None,
        ),
        (
            xledger(
                [
                    {"message": "x", "code": "GRAPHQL_VALIDATION_FAILED"},
                    {"message": "x", "extensions": {"code": "GRAPHQL_PARSE_FAILED"}},
                ]
            ),
            FatalError,
            "Xledger refused the request (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED)",
            None,
        ),
    ],
)
def test_xledger_answers(
    response: httpx.Response, expected: type[ConnectorError], message: str, retry_after: float | None
) -> None:
    with pytest.raises(ConnectorError) as raised:
        xledger_errors.validate_response(response)
    assert type(raised.value) is expected
    assert str(raised.value) == message
    if isinstance(raised.value, RetriableError):
        assert raised.value.retry_after == retry_after


def test_a_timed_out_query_with_a_code_is_not_the_timeout_rule() -> None:
    answer = xledger_errors.validate_response(
        xledger([{"message": "Your query timed out.", "code": "INVALID_VALUE"}])
    )
    assert answer.unattributed == [InputProblem("INVALID_VALUE", "Your query timed out.")]


def test_xledger_execution_errors_are_kept_by_client_id_in_order() -> None:
    long_text = "Invalid value for field account " + "x" * 400
    answer = xledger_errors.validate_response(
        xledger(
            [
                {"message": "first", "extensions": {"clientId": 7, "code": "INVALID_VALUE"}},
                {"message": long_text, "extensions": {"clientId": "7"}},
                {"message": "", "extensions": {"clientId": "8", "code": "INVALID_VALUE"}},
                {"message": "nobody's", "code": "SOMETHING"},
                "plain text error",
            ],
            data={"addGLImportItems": {"edges": []}},
        )
    )
    assert answer == GraphQLAnswer(
        data={"addGLImportItems": {"edges": []}},
        input_errors={
            "7": [
                InputProblem("INVALID_VALUE", "first"),
                InputProblem(None, long_text[: xledger_errors.MAX_MESSAGE_LENGTH]),
            ],
            "8": [InputProblem("INVALID_VALUE", "Xledger gave no message")],
        },
        unattributed=[InputProblem("SOMETHING", "nobody's"), InputProblem(None, "plain text error")],
    )
    assert answer.has_errors


@pytest.mark.parametrize(
    ("response", "data"),
    [
        (xledger(data={"glObjects": {"edges": []}}), {"glObjects": {"edges": []}}),
        (xledger([], data={"a": 1}), {"a": 1}),
        (xledger(data=["not", "an", "object"]), None),
        (xledger(data=None), None),
    ],
)
def test_xledger_answers_without_errors_give_the_data(response: httpx.Response, data: Any) -> None:
    answer = xledger_errors.validate_response(response)
    assert answer == GraphQLAnswer(data=data)
    assert not answer.has_errors


@pytest.mark.parametrize(
    ("answer", "has_errors"),
    [
        (GraphQLAnswer(data=None), False),
        (GraphQLAnswer(data=None, input_errors={"1": [InputProblem(None, "x")]}), True),
        (GraphQLAnswer(data=None, unattributed=[InputProblem(None, "x")]), True),
    ],
)
def test_an_answer_has_errors_when_any_is_kept(answer: GraphQLAnswer, has_errors: bool) -> None:
    assert answer.has_errors is has_errors
