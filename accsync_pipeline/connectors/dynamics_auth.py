"""OAuth client-credentials tokens for Business Central, cached until shortly before they expire."""

from __future__ import annotations

import threading
import time

import httpx

from accsync_pipeline.connectors.errors import AuthenticationError, ConfigurationError, RetriableError
from accsync_pipeline.connectors.http import parse_retry_after, send

# Refresh this long before expiry so that a token never runs out while a request is in flight.
REFRESH_MARGIN_SECONDS = 120.0


class TokenCache:
    """Fetches and caches one access token; safe to share between export threads."""

    def __init__(
        self, client: httpx.Client, token_url: str, client_id: str, client_secret: str, scope: str
    ) -> None:
        self._client = client
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch()
                margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
                self._expires_at = time.monotonic() + lifetime - margin
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (refused by the API) so the next call fetches a fresh one."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        # Fetching a token changes nothing, so any transport failure is simply retriable.
        try:
            response = send(self._client, "POST", self._token_url, data=self._form)
        except RetriableError as e:
            raise RetriableError(f"cannot fetch a Business Central token: {e}") from e
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        if status in (400, 401) and error in ("invalid_client", "unauthorized_client", "invalid_grant"):
            raise AuthenticationError(
                f"the identity platform refused client_id/secret ({error}); check the client secret variable"
            )
        if status in (400, 404):
            raise ConfigurationError(
                f"cannot get a token for the configured tenant or scope (HTTP {status} {error})"
            )
        if status == 429 or status >= 500:
            raise RetriableError(
                f"token endpoint failed (HTTP {status})",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise AuthenticationError(f"token endpoint gave no token (HTTP {status})")
        return str(body["access_token"]), float(body.get("expires_in", 3599))
