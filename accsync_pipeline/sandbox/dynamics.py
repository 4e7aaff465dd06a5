"""Business Central sandbox: OAuth token endpoint, API v2.0 journal lines, `$batch`, limits, faults.

Emulated contract: `POST /{tenant}/oauth2/v2.0/token` (client credentials); API root
`/v2.0/{tenant}/{environment}/api/v2.0` with bearer tokens; one company and one general
journal; `$batch` of at most 100 independent requests (counted as one request against
the limits); `$filter` on `externalDocumentNumber` with server-driven paging through
`@odata.nextLink`. Limits per user: requests per sliding window (default 6,000 per
5 minutes) and requests processed at once (default 5); beyond either, 429 with
Retry-After. The error codes for an unknown company/journal (`BadRequest_NotFound`) and
for throttling (`Application_TooManyRequests`) could not be verified against a real tenant;
amounts are echoed as strings, as under `IEEE754Compatible=true`.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from accsync_pipeline.sandbox.control import Stats, control_routes
from accsync_pipeline.sandbox.dynamics_journal import LineError, filtered_keys, stored_line, validated_line
from accsync_pipeline.sandbox.faults import SCOPE_KEY, Action, FaultMiddleware, FaultState, pad_to_latency
from accsync_pipeline.sandbox.ledger import Ledger
from accsync_pipeline.sandbox.limits import ConcurrencyGate, SlidingWindow

MAX_BATCH_REQUESTS = 100
DEFAULT_COMPANY_ID = "6f3c2a51-0b7e-4d4a-9c1e-2f5b8d7a9e01"
DEFAULT_JOURNAL_ID = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's own demo credential
_RESOURCE = re.compile(r"companies\(([^)]*)\)(?:/journals\(([^)]*)\)(/journalLines)?)?")

Answer = tuple[int, dict[str, str], Any]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, headers or {}, {"error": {"code": code, "message": message}}


class DynamicsSandbox:
    """One tenant, environment, company and general journal. `app` is the ASGI app to serve."""

    def __init__(
        self,
        *,
        tenant: str = "sandbox-tenant",
        environment: str = "production",
        company_id: str = DEFAULT_COMPANY_ID,
        journal_id: str = DEFAULT_JOURNAL_ID,
        journal_code: str = "ACCSYNC",
        client_id: str = "accsync-sandbox",
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime_seconds: int = 3599,
        requests_per_window: int = 6000,
        window_seconds: float = 300.0,
        max_concurrent: int = 5,
        page_size: int = 20000,
        persist_path: Path | None = None,
    ) -> None:
        self.tenant, self.environment = tenant, environment
        self.company_id, self.journal_id, self.journal_code = company_id, journal_id, journal_code
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime_seconds = token_lifetime_seconds
        self.page_size = page_size
        self.ledger = Ledger("externalDocumentNumber", persist_path)
        self.faults = FaultState()
        self.stats = Stats()
        self.tokens: dict[str, float] = {}
        self._limits = (requests_per_window, window_seconds, max_concurrent)
        self._reset_limits()
        routes = [
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", self._api, methods=["GET", "POST"]),
            *control_routes(self.ledger, self.faults, self.stats, self._reset_limits),
        ]
        self.app = FaultMiddleware(Starlette(routes=routes), self.faults)

    def _reset_limits(self) -> None:
        per_window, window_seconds, max_concurrent = self._limits
        self._window = SlidingWindow(per_window, window_seconds)
        self._gate = ConcurrencyGate(max_concurrent)

    async def _token(self, request: Request) -> Response:
        form = {name: values[0] for name, values in parse_qs((await request.body()).decode()).items()}
        if request.path_params["tenant"] != self.tenant:
            body = {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}
            return JSONResponse(body, status_code=400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            body = {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
            return JSONResponse(body, status_code=401)
        if not form.get("scope", "").endswith("/.default"):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.token_lifetime_seconds
        lifetime = self.token_lifetime_seconds
        granted: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
        return JSONResponse(granted)

    def _authorised(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.tokens.get(token, 0.0) > time.monotonic() and request.path_params["tenant"] == self.tenant

    async def _api(self, request: Request) -> Response:
        self.stats.requests += 1
        if not self._authorised(request):
            return self._respond(
                _error(401, "Authentication_InvalidCredentials", "The credentials are not valid.")
            )
        if request.path_params["environment"] != self.environment:
            return self._respond(_error(404, "BadRequest_NotFound", "The environment does not exist."))
        wait = self._window.try_take()
        if wait is not None or not self._gate.try_enter():
            self.stats.throttled += 1
            retry_after = {"Retry-After": str(max(1, math.ceil(wait or 1)))}
            return self._respond(
                _error(429, "Application_TooManyRequests", "Too many requests.", retry_after)
            )
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, self._gate.peak)
        try:
            return await pad_to_latency(self._handle(request), self.faults.plan.latency_ms)
        finally:
            self._gate.leave()

    async def _handle(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        root = str(request.url).split("/api/v2.0/", 1)[0] + "/api/v2.0"
        is_posting = request.method == "POST" and (rest == "$batch" or rest.endswith("/journalLines"))
        action = self.faults.next_posting_action() if is_posting else Action.NONE
        if is_posting:
            self.stats.postings_requests += 1
        if action == Action.RESET:
            request.scope[SCOPE_KEY] = action
            return Response(status_code=500)
        if action == Action.THROTTLE:
            self.stats.throttled += 1
            retry_after = {"Retry-After": f"{self.faults.plan.throttle_retry_after:g}"}
            return self._respond(
                _error(429, "Application_TooManyRequests", "Too many requests.", retry_after)
            )
        if action == Action.SERVER_ERROR:
            status = self.faults.plan.server_error_status
            return self._respond(_error(status, "InternalServerError", "The service is unavailable."))
        try:
            body = json.loads(await request.body()) if request.method == "POST" else None
        except ValueError:
            return self._respond(_error(400, "BadRequest", "The body is not JSON."))
        if rest == "$batch" and request.method == "POST":
            answer = self._batch(root, body)
        else:
            query = {name: values[0] for name, values in parse_qs(request.url.query).items()}
            decimal_as_string = "ieee754compatible=true" in request.headers.get("content-type", "").lower()
            answer = self._dispatch(request.method, root, rest, query, body, decimal_as_string)
        if action in (Action.DROP_AFTER_COMMIT, Action.STALL_AFTER_COMMIT):
            request.scope[SCOPE_KEY] = action
        return self._respond(answer)

    @staticmethod
    def _respond(answer: Answer) -> Response:
        status, headers, body = answer
        return JSONResponse(body, status_code=status, headers=headers)

    def _batch(self, root: str, body: Any) -> Answer:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list):
            return _error(400, "BadRequest", "A JSON batch needs a 'requests' array.")
        if len(requests) > MAX_BATCH_REQUESTS:
            return _error(400, "BadRequest", f"A batch holds at most {MAX_BATCH_REQUESTS} requests.")
        responses = []
        for item in requests:
            url = urlsplit(str(item.get("url", "")))
            rest = url.path.split("/api/v2.0/", 1)[-1].lstrip("/")
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            headers = {name.lower(): str(value) for name, value in (item.get("headers") or {}).items()}
            decimal_as_string = "ieee754compatible=true" in headers.get("content-type", "").lower()
            method = str(item.get("method", "GET")).upper()
            fault = self.faults.next_line_fault() if method == "POST" else None
            if fault is not None and not fault[1]:
                status, answer_headers, answer = _error(fault[0], "InternalServerError", "The line failed.")
            else:
                status, answer_headers, answer = self._dispatch(
                    method, root, rest, query, item.get("body"), decimal_as_string
                )
                if fault is not None:
                    status, answer_headers, answer = _error(
                        fault[0], "InternalServerError", "The line timed out."
                    )
            responses.append(
                {"id": item.get("id"), "status": status, "headers": answer_headers, "body": answer}
            )
        return 200, {}, {"responses": responses}

    def _dispatch(
        self, method: str, root: str, rest: str, query: dict[str, str], body: Any, decimal_as_string: bool
    ) -> Answer:
        match = _RESOURCE.fullmatch(rest)
        if match is None:
            return _error(404, "BadRequest_NotFound", "No resource at that address.")
        company, journal, lines = match.groups()
        if company != self.company_id:
            return _error(404, "BadRequest_NotFound", "The company does not exist.")
        if journal is not None and journal != self.journal_id:
            return _error(404, "BadRequest_NotFound", "The journal does not exist in this company.")
        if journal is None and method == "GET":
            return 200, {}, {"id": self.company_id, "name": "Sandbox", "displayName": "Sandbox company"}
        if lines is None and method == "GET":
            return 200, {}, {"id": self.journal_id, "code": self.journal_code, "displayName": "accsync"}
        if lines is not None and method == "GET":
            return self._read_lines(f"{root}/{rest}", query)
        if lines is not None and method == "POST":
            return self._add_line(body, decimal_as_string)
        return _error(405, "BadRequest_MethodNotAllowed", "Method not allowed on this resource.")

    def _add_line(self, body: Any, decimal_as_string: bool) -> Answer:
        try:
            fields = validated_line(body, decimal_as_string)
        except LineError as e:
            return _error(e.status, e.code, e.message)
        refused = self.faults.plan.reject_keys.get(str(fields.get("externalDocumentNumber", "")))
        if refused:
            return _error(400, refused, "accountNumber has an invalid value.")
        line = stored_line(fields, self.journal_id, self.journal_code, self.ledger.next_sequence() * 10000)
        self.ledger.add([line])
        return 201, {}, line

    def _read_lines(self, url: str, query: dict[str, str]) -> Answer:
        try:
            keys = filtered_keys(query.get("$filter"))
        except LineError as e:
            return _error(e.status, e.code, e.message)
        matching = self.ledger.postings if keys is None else self.ledger.with_keys(keys)
        skip = int(query.get("$skiptoken", "0") or 0)
        page = matching[skip : skip + self.page_size]
        selected = [name.strip() for name in query["$select"].split(",")] if "$select" in query else None
        values = [{k: v for k, v in line.items() if k in selected} if selected else line for line in page]
        answer: dict[str, Any] = {"value": values}
        if skip + self.page_size < len(matching):
            next_query = {k: v for k, v in query.items() if k != "$skiptoken"} | {
                "$skiptoken": str(skip + self.page_size)
            }
            answer["@odata.nextLink"] = f"{url}?{urlencode(next_query)}"
        return 200, {}, answer
