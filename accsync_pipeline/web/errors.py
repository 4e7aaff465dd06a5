"""The service layer's errors as HTTP answers, in one place (see `service.errors` for the tree).

An endpoint lets them propagate; one exception handler answers each kind with its status.
Invalid input answers 422 in FastAPI's own validation shape, one `{"loc", "msg"}` item per
field, so that screens place each message beside its input as for a malformed request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from accsync_pipeline.service.errors import Conflict, InvalidInput, NotFound, ServiceError, Unavailable

HTTP_STATUS: dict[type[ServiceError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def http_status(error: ServiceError) -> int:
    """The status of the nearest kind the error is; 500 for a bare `ServiceError`."""
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def error_detail(error: ServiceError) -> object:
    if isinstance(error, InvalidInput):
        return [
            {"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"}
            for field, message in error.problems
        ]
    return str(error)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": error_detail(exc)}, status_code=http_status(exc))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
