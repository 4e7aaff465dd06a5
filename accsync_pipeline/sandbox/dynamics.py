"""Business Central sandbox: OAuth token endpoint, API v2.0 journal, `$batch`, limits, faults.

Emulated contract: `POST /{tenant}/oauth2/v2.0/token` (client credentials); API root
`/v2.0/{tenant}/{environment}/api/v2.0` with bearer tokens; one company and one general
journal; `journalLines` (GET, POST), `generalLedgerEntries` (GET), the journal's bound
action `Microsoft.NAV.post`; `$batch` of at most 100 independent requests (counted as one
request against the limits); `$filter` with `eq`/`or` (and `in`, ignored, see
`dynamics_quirks`); server-driven paging through `@odata.nextLink`.

The awkward parts are in `dynamics_quirks.Quirk` (all on by default), posting and No.
Series in `dynamics_posting`, amounts in `dynamics_journal`. Limits per user: requests per
sliding window (default 6,000 per 5 minutes; 429 with Retry-After beyond it) and the
request queue of `limits.RequestQueue`. The error codes for an unknown company/journal
(`BadRequest_NotFound`), an over-long URL (`BadRequest_UriTooLong`) and throttling
(`Application_TooManyRequests`) could not be verified against a real tenant.

Inspection (`/_sandbox/postings`) lists every line ever stored, once, whether it is still a
journal line (`state: journal`) or posted (`state: posted`, with its `postedEntries`).
"""

from __future__ import annotations

import functools
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from accsync_pipeline.sandbox.control import Stats, control_routes
from accsync_pipeline.sandbox.dynamics_filter import parse_filter, parse_prefix
from accsync_pipeline.sandbox.dynamics_journal import STATE, LineError, answered, stored_line, validated_line
from accsync_pipeline.sandbox.dynamics_posting import JOURNAL, GeneralLedger
from accsync_pipeline.sandbox.dynamics_quirks import ALL_QUIRKS, MAX_URL_LENGTH, Quirk
from accsync_pipeline.sandbox.faults import SCOPE_KEY, Action, FaultMiddleware, FaultState, pad_to_latency
from accsync_pipeline.sandbox.ledger import Ledger
from accsync_pipeline.sandbox.limits import Admission, RequestQueue, SlidingWindow

MAX_BATCH_REQUESTS = 100
DEFAULT_COMPANY_ID = "6f3c2a51-0b7e-4d4a-9c1e-2f5b8d7a9e01"
DEFAULT_JOURNAL_ID = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's own demo credential
_RESOURCE = re.compile(
    r"companies\(([^)]*)\)(?:/(generalLedgerEntries)|/journals\(([^)]*)\)(?:/(journalLines|Microsoft\.NAV\.post))?)?"
)
LINE_FILTER_FIELDS = frozenset({"externalDocumentNumber", "documentNumber"})
ENTRY_FILTER_FIELDS = frozenset({"documentNumber"})

Answer = tuple[int, dict[str, str], Any]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, headers or {}, {"error": {"code": code, "message": message}}


def _decimal_as_string(headers: dict[str, str]) -> bool:
    formats = (headers.get("content-type", "") + headers.get("accept", "")).lower()
    return "ieee754compatible=true" in formats


def _batch_decimal_as_string(headers: dict[Any, Any]) -> bool:
    """`_decimal_as_string` of a `$batch` item's headers, any case; most items carry only a
    Content-Type that does not mention it, which is told without building a lower-cased copy."""
    if not any("ieee754" in str(value).lower() for value in headers.values()):
        return False
    return _decimal_as_string({str(name).lower(): str(value) for name, value in headers.items()})


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
        queue_size: int = 95,
        max_queue_seconds: float = 480.0,
        queue_retry_after: float = 5.0,
        page_size: int = 20000,
        quirks: frozenset[Quirk] = ALL_QUIRKS,
        no_series: str | None = None,
        employee_payables_account: str = "5850",
        persist_path: Path | None = None,
    ) -> None:
        self.tenant, self.environment = tenant, environment
        self.company_id, self.journal_id, self.journal_code = company_id, journal_id, journal_code
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime_seconds = token_lifetime_seconds
        self.page_size = page_size
        self.quirks = quirks
        self.queue_retry_after = queue_retry_after
        self.ledger = Ledger("externalDocumentNumber", persist_path)
        self.general_ledger = GeneralLedger(
            self.ledger, employee_payables_account=employee_payables_account, no_series=no_series
        )
        self.faults = FaultState()
        self.stats = Stats()
        self.tokens: dict[str, float] = {}
        self._limits = (requests_per_window, window_seconds, max_concurrent, queue_size, max_queue_seconds)
        self._on_reset()
        routes = [
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/v2.0/{tenant}/{environment}/api/v2.0/{rest:path}", self._api, methods=["GET", "POST"]),
            Route("/_sandbox/journal/post", self._control_post_journal, methods=["POST"]),
            Route("/_sandbox/ledger-entries", self._control_entries, methods=["GET"]),
            *control_routes(self.ledger, self.faults, self.stats, self._on_reset),
        ]
        self.app = FaultMiddleware(Starlette(routes=routes), self.faults)

    def _on_reset(self) -> None:
        per_window, window_seconds, max_concurrent, queue_size, max_queue_seconds = self._limits
        self._window = SlidingWindow(per_window, window_seconds)
        queued = Quirk.REQUESTS_QUEUED in self.quirks
        self._queue = RequestQueue(max_concurrent, queue_size if queued else 0, max_queue_seconds)
        self.general_ledger.rebuild()

    async def _control_post_journal(self, request: Request) -> Response:
        """Post the journal as an accountant would in the BC client."""
        return JSONResponse({"posted": self.general_ledger.post_journal()})

    async def _control_entries(self, request: Request) -> Response:
        entries = self.general_ledger.entries
        return JSONResponse({"count": len(entries), "entries": entries})

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

    def _too_long(self, target: str) -> bool:
        return Quirk.URL_LENGTH_LIMIT in self.quirks and len(target) > MAX_URL_LENGTH

    async def _api(self, request: Request) -> Response:
        self.stats.requests += 1
        if not self._authorised(request):
            return self._respond(
                _error(401, "Authentication_InvalidCredentials", "The credentials are not valid.")
            )
        if request.path_params["environment"] != self.environment:
            return self._respond(_error(404, "BadRequest_NotFound", "The environment does not exist."))
        target = request.scope.get("raw_path", b"").decode("latin-1")
        if request.scope.get("query_string"):
            target += "?" + request.scope["query_string"].decode("latin-1")
        if self._too_long(target):
            return self._respond(_error(400, "BadRequest_UriTooLong", "The request URL is too long."))
        wait = self._window.try_take()
        if wait is not None:
            return self._throttled(wait)
        admission = await self._queue.enter()
        if admission == Admission.QUEUE_FULL:
            return self._throttled(1)
        if admission == Admission.QUEUE_TIMEOUT:
            retry_after = {"Retry-After": f"{self.queue_retry_after:g}"}
            return self._respond(
                _error(503, "ServiceUnavailable", "The request waited too long in the queue.", retry_after)
            )
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, self._queue.peak)
        try:
            return await pad_to_latency(self._handle(request), self.faults.plan.latency_ms)
        finally:
            self._queue.leave()

    def _throttled(self, wait: float) -> Response:
        self.stats.throttled += 1
        retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
        return self._respond(_error(429, "Application_TooManyRequests", "Too many requests.", retry_after))

    async def _handle(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        root = str(request.url).split("/api/v2.0/", 1)[0] + "/api/v2.0"
        try:
            raw = await request.body()
            body = json.loads(raw, parse_float=Decimal) if request.method == "POST" and raw else None
        except ValueError:
            return self._respond(_error(400, "BadRequest", "The body is not JSON."))
        is_posting = request.method == "POST" and (
            rest.endswith("/journalLines") or (rest == "$batch" and _posts_something(body))
        )
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
        if rest == "$batch" and request.method == "POST":
            answer = self._batch(root, body)
        else:
            query = {name: values[0] for name, values in parse_qs(request.url.query).items()}
            headers = {name.lower(): value for name, value in request.headers.items()}
            answer = self._dispatch(request.method, root, rest, query, body, _decimal_as_string(headers))
        if action in (Action.DROP_AFTER_COMMIT, Action.STALL_AFTER_COMMIT):
            request.scope[SCOPE_KEY] = action
        return self._respond(answer)

    @staticmethod
    def _respond(answer: Answer) -> Response:
        status, headers, body = answer
        if body is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    def _batch(self, root: str, body: Any) -> Answer:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list):
            return _error(400, "BadRequest", "A JSON batch needs a 'requests' array.")
        if len(requests) > MAX_BATCH_REQUESTS:
            return _error(400, "BadRequest", f"A batch holds at most {MAX_BATCH_REQUESTS} requests.")
        responses = []
        root_path = urlsplit(root).path  # once per batch: every item resolves against it
        for item in requests:
            status, answer_headers, answer = self._batch_item(
                root, root_path, item if isinstance(item, dict) else {}
            )
            response: dict[str, Any] = {"id": item.get("id"), "status": status, "headers": answer_headers}
            if answer is not None:
                response["body"] = answer
            responses.append(response)
        return 200, {}, {"responses": responses}

    def _batch_item(self, root: str, root_path: str, item: dict[str, Any]) -> Answer:
        raw_url = str(item.get("url", ""))
        # BC resolves a relative URL against the API root: that whole target counts.
        resolved = raw_url if "://" in raw_url else f"{root_path}/{raw_url.lstrip('/')}"
        if self._too_long(resolved):
            return _error(400, "BadRequest_UriTooLong", "The request URL is too long.")
        rest, query = _target(raw_url)
        headers = item.get("headers")
        method = str(item.get("method", "GET")).upper()
        fault = self.faults.next_line_fault() if method == "POST" else None
        if fault is not None and not fault[1]:
            return _error(fault[0], "InternalServerError", "The line failed.")
        decimal_as_string = isinstance(headers, dict) and _batch_decimal_as_string(headers)
        answer = self._dispatch(method, root, rest, query, item.get("body"), decimal_as_string)
        if fault is not None:
            return _error(fault[0], "InternalServerError", "The line timed out.")
        return answer

    def _dispatch(
        self, method: str, root: str, rest: str, query: dict[str, str], body: Any, decimal_as_string: bool
    ) -> Answer:
        route = _route(rest)
        if route is None:
            return _error(404, "BadRequest_NotFound", "No resource at that address.")
        company, entries, journal, member = route
        if company != self.company_id:
            return _error(404, "BadRequest_NotFound", "The company does not exist.")
        if journal is not None and journal != self.journal_id:
            return _error(404, "BadRequest_NotFound", "The journal does not exist in this company.")
        address = (method, entries or member or ("journal" if journal else "company"))
        if address == ("GET", "company"):
            return 200, {}, {"id": self.company_id, "name": "Sandbox", "displayName": "Sandbox company"}
        if address == ("GET", "journal"):
            return 200, {}, self._journal()
        if address == ("GET", "journalLines"):
            return self._read_lines(f"{root}/{rest}", query, decimal_as_string)
        if address == ("POST", "journalLines"):
            return self._add_line(body, decimal_as_string)
        if address == ("POST", "Microsoft.NAV.post"):
            self.general_ledger.post_journal()
            return 204, {}, None
        if address == ("GET", "generalLedgerEntries"):
            return self._read_entries(f"{root}/{rest}", query, decimal_as_string)
        return _error(405, "BadRequest_MethodNotAllowed", "Method not allowed on this resource.")

    def _journal(self) -> dict[str, Any]:
        # The fields of the APIV2 "Journals" page (microsoft/BCApps): no No. Series among them.
        return {
            "id": self.journal_id,
            "code": self.journal_code,
            "displayName": "accsync",
            "templateDisplayName": "GENERAL",
            "balancingAccountId": "00000000-0000-0000-0000-000000000000",
            "balancingAccountNumber": "",
            "lastModifiedDateTime": "2025-01-01T00:00:00Z",
        }

    def _add_line(self, body: Any, decimal_as_string: bool) -> Answer:
        try:
            fields = validated_line(body, decimal_as_string)
        except LineError as e:
            return _error(e.status, e.code, e.message)
        key = str(fields.get("externalDocumentNumber", "")).upper()
        refused = {k.upper(): code for k, code in self.faults.plan.reject_keys.items()}.get(key)
        if refused:
            return _error(400, refused, "accountNumber has an invalid value.")
        line_number = self.ledger.next_sequence() * 10000
        upper = Quirk.UPPER_CASE_CODES in self.quirks
        line = stored_line(fields, self.journal_id, self.journal_code, line_number, upper)
        line[STATE] = JOURNAL
        self.ledger.add([line])
        answer = answered(line, decimal_as_string, ("amount",))
        every = self.faults.plan.post_journal_every
        self.general_ledger.lines_since_post += 1
        if every and self.general_ledger.lines_since_post >= every:
            self.general_ledger.post_journal()
        return 201, {}, answer

    def _read_lines(self, url: str, query: dict[str, str], decimal_as_string: bool) -> Answer:
        if prefixed := self._prefixed(query, LINE_FILTER_FIELDS, self.general_ledger.journal_lines):
            return self._page(url, query, [answered(r, decimal_as_string, ("amount",)) for r in prefixed[0]])
        try:
            wanted = self._wanted(query, LINE_FILTER_FIELDS)
        except LineError as e:
            return _error(e.status, e.code, e.message)
        if wanted is None:
            rows = self.general_ledger.journal_lines()
        elif set(wanted) == {"externalDocumentNumber"}:
            rows = self.general_ledger.journal_lines(self.ledger.with_keys(wanted["externalDocumentNumber"]))
        else:
            rows = [
                line
                for line in self.general_ledger.journal_lines()
                if any(str(line.get(field, "")) in values for field, values in wanted.items())
            ]
        return self._page(url, query, [answered(r, decimal_as_string, ("amount",)) for r in rows])

    def _read_entries(self, url: str, query: dict[str, str], decimal_as_string: bool) -> Answer:
        amounts = ("debitAmount", "creditAmount")
        if prefixed := self._prefixed(query, ENTRY_FILTER_FIELDS, lambda: self.general_ledger.entries):
            return self._page(url, query, [answered(r, decimal_as_string, amounts) for r in prefixed[0]])
        try:
            wanted = self._wanted(query, ENTRY_FILTER_FIELDS)
        except LineError as e:
            return _error(e.status, e.code, e.message)
        rows = self.general_ledger.entries
        if wanted is not None:
            by_document = self.general_ledger.by_document
            rows = [entry for value in wanted["documentNumber"] for entry in by_document.get(value, [])]
            rows.sort(key=lambda entry: int(entry["entryNumber"]))
        amounts = ("debitAmount", "creditAmount")
        return self._page(url, query, [answered(r, decimal_as_string, amounts) for r in rows])

    def _prefixed(
        self, query: dict[str, str], fields: frozenset[str], rows: Callable[[], list[dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]]] | None:
        """Rows a `startswith` filter selects (in a 1-tuple, so that none found is still an answer)."""
        try:
            prefix = parse_prefix(query.get("$filter"), fields)
        except LineError:
            return None  # `_wanted` says why
        if prefix is None:
            return None
        field, start = prefix
        upper = Quirk.UPPER_CASE_CODES in self.quirks
        start = start.upper() if upper else start
        # `rows` is only read for a prefix filter: listing the journal costs a scan of the ledger.
        return ([row for row in rows() if str(row.get(field, "")).startswith(start)],)

    def _wanted(self, query: dict[str, str], fields: frozenset[str]) -> dict[str, set[str]] | None:
        """The values a `$filter` asks for per field, as the stored Code fields hold them."""
        wanted = parse_filter(
            query.get("$filter"),
            fields,
            schema_version=query.get("$schemaversion"),
            in_ignored=Quirk.IN_FILTER_IGNORED in self.quirks,
        )
        if wanted is None:
            return None
        upper = Quirk.UPPER_CASE_CODES in self.quirks
        return {field: {v.upper() if upper else v for v in values} for field, values in wanted.values.items()}

    def _page(self, url: str, query: dict[str, str], rows: list[dict[str, Any]]) -> Answer:
        skip = int(query.get("$skiptoken", "0") or 0)
        page = rows[skip : skip + self.page_size]
        selected = [name.strip() for name in query["$select"].split(",")] if "$select" in query else None
        values = [{k: v for k, v in row.items() if k in selected} if selected else row for row in page]
        answer: dict[str, Any] = {"value": values}
        if skip + self.page_size < len(rows):
            next_query = {k: v for k, v in query.items() if k != "$skiptoken"} | {
                "$skiptoken": str(skip + self.page_size)
            }
            answer["@odata.nextLink"] = f"{url}?{urlencode(next_query)}"
        return 200, {}, answer


# A batch repeats one URL for each of its lines: each distinct target is split and routed once.
@functools.lru_cache(maxsize=1024)
def _target(raw_url: str) -> tuple[str, dict[str, str]]:
    """(resource path below the API root, query) of a request URL inside `$batch`.

    The query is shared between calls: readers must not change it.
    """
    url = urlsplit(raw_url)
    rest = unquote(url.path).split("/api/v2.0/", 1)[-1].lstrip("/")
    query: dict[str, str] = {}
    for pair in url.query.split("&"):  # as parse_qs reads it: blank values and bare names dropped
        name, equals, value = pair.partition("=")
        if equals and value:
            query.setdefault(_unquoted(name), _unquoted(value))
    return rest, query


def _unquoted(text: str) -> str:
    """`unquote_plus(text)`; a lookup's long filter, whose only escapes are spaces, without a scan."""
    text = text.replace("+", " ")
    if "%" not in text.replace("%20", ""):
        return text.replace("%20", " ")
    return unquote(text)


@functools.lru_cache(maxsize=64)
def _route(rest: str) -> tuple[str | None, ...] | None:
    """(company, generalLedgerEntries, journal, member) of a resource path, None when unknown."""
    match = _RESOURCE.fullmatch(rest)
    return None if match is None else match.groups()


def _posts_something(body: Any) -> bool:
    requests = body.get("requests") if isinstance(body, dict) else None
    return isinstance(requests, list) and any(
        isinstance(item, dict) and str(item.get("method", "GET")).upper() == "POST" for item in requests
    )
