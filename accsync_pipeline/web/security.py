"""What every answer of the admin service carries, and what every request must respect.

- Security headers on every answer: a CSP that allows only this service's own scripts and
  styles, no framing, no MIME sniffing, no referrer to other sites.
- Request bodies are bounded (`MAX_BODY_BYTES`): a larger one is refused with 413 before it
  is read whole.
- JSON bodies must be standard JSON: Python's parser takes `NaN` and `Infinity`, which no
  setting may hold; they are refused with 422 before any route sees them.
- Validation errors never echo the input back (it may hold a pasted secret, and a NaN would
  not even serialise).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 256 * 1024  # settings and retries are small; this is far beyond any real one

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def safe_next(target: str | None) -> str:
    """A path on this site to go to after signing in, or "/": never another site.

    Browsers read `\\` as `/` and drop tabs and newlines, so `/\\evil.example` and `/\\t/evil`
    lead elsewhere although they start with one slash.
    """
    if not target or not target.startswith("/"):
        return "/"
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return "/"
    if target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS, directly or through a proxy that says so."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _json_problem(body: bytes) -> str | None:
    """Why a JSON body is refused before any route sees it, or None."""
    try:
        json.loads(body, parse_constant=_reject_constant)
    except ValueError as e:
        if str(e) in {"NaN", "Infinity", "-Infinity"}:
            return f"{e} is not a JSON number; send a finite number"
        return None  # malformed JSON: FastAPI answers 422 with the position
    return None


class RequestGuard:
    """ASGI middleware: security headers on every answer, bounded bodies, standard JSON only."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, send_with_headers, 413, self._too_large())
            return
        if scope.get("method") not in {"POST", "PUT", "PATCH", "DELETE"}:
            await self.app(scope, receive, send_with_headers)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await self._refuse(scope, send_with_headers, 413, self._too_large())
                return
        if "json" in headers.get("content-type", "") and body:
            problem = _json_problem(bytes(body))
            if problem:
                detail = [{"loc": ["body"], "msg": problem, "type": "json_invalid"}]
                await self._refuse(scope, send_with_headers, 422, detail)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send_with_headers)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes // 1024} KiB"

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status_code: int, detail: object) -> None:
        response = JSONResponse({"detail": detail}, status_code=status_code)
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape without `input` and `ctx`: never echo what was sent."""
    assert isinstance(exc, RequestValidationError)
    detail = [{k: v for k, v in error.items() if k in {"loc", "msg", "type"}} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestGuard)
    app.add_exception_handler(RequestValidationError, validation_error)
