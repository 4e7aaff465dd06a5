"""What both connectors share about HTTP: one pooled client, Retry-After, transport errors, redaction."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from accsync_pipeline.connectors.errors import AmbiguousError, RetriableError

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_SECRET_QUERY = re.compile(r"(?i)((?:client_secret|access_token|token|code|password)=)[^&]*")


def build_client(
    *, timeout_seconds: float, max_concurrency: int, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """One client per connector so that connections stay open across requests.

    The pool holds a few more connections than requests in flight, so that a token refresh
    or a lookup never waits behind a posting.
    """
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0)),
        limits=httpx.Limits(
            max_connections=max_concurrency + 2, max_keepalive_connections=max_concurrency + 2
        ),
        transport=transport,
        headers={"User-Agent": "accsync"},
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else time.time()
    return max(0.0, moment.timestamp() - reference)


def redact_url(url: str | httpx.URL) -> str:
    """The URL without user info and with secret-looking query values masked, for logs."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, _SECRET_QUERY.sub(r"\1***", parts.query), ""))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials masked, for logs."""
    return {name: "***" if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request, turning transport failures into errors by what they mean for idempotency.

    A failure before the request could have reached the server (connect errors, pool
    timeouts) is plainly retriable. Anything after it may have left (read/write timeouts,
    resets, a server that closed without answering) is ambiguous: the caller must look the
    keys up before sending again.
    """
    where = f"{method} {redact_url(url)}"
    try:
        return client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
        raise RetriableError(f"cannot connect: {where}: {type(e).__name__}") from e
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
        raise AmbiguousError(f"no complete answer to {where}: {type(e).__name__}") from e
