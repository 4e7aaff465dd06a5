"""Xledger sandbox: `POST /graphql` with GL import items, limits, faults and inspection.

Emulated contract: `Authorization: token {token}`; every answer is HTTP 200 with
`errors[{message, code, extensions}]` when something is wrong; `addGLImportItems` takes
at most 500 inputs ("GraphQL general tips": mass mutations, max 500). Limits (per token):
a burst limit (token bucket, default 10 requests, refilled at 10 per second) and at most 5
requests at once, refused with `BAD_REQUEST.BURST_RATE_LIMIT_REACHED` /
`BAD_REQUEST.CONCURRENCY_LIMIT_REACHED` (xledger/graphql-samples `GraphQLClient.cs`;
grasp-labs/ds-provider-xledger-py-lib `utils/rules.py`, which also has
`BAD_REQUEST.INSUFFICIENT_CREDITS`); Xledger publishes the codes but not the numbers.

Quirks, on by default where they are the worst case the public material allows; a
`FaultPlan` field turns each off only so that a test can show the difference:

- Not atomic (`partial_commit`): whether a mass mutation stores all or none is
  unverified, so one with invalid inputs stores its valid ones and still answers errors,
  with data null (`partial_data` answers the stored edges instead).
- Errors may not name their input (`name_bad_inputs`, off): that Xledger puts the
  input's `clientId` in `extensions` is unverified; its own samples read only `code`
  and `message` (`GraphQLClient.cs`).
- "Your query timed out." with no code (grasp-labs `utils/rules.py` and its tests), after
  the mutation was stored (`timeout_after_commit`): an ambiguous outcome.
- A bad token answers a message containing "Bad format for API Token" (help centre
  "API tokens"; grasp-labs `utils/rules.py`), with no code.
- Lookups: see `xledger_lookup` (no `endCursor`, 10,000 per query, case-insensitive filter
  that also answers items not asked for).

The validation rules applied to each input are the sandbox's own, not Xledger's.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationType, execute_sync, parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from accsync_pipeline.sandbox.control import Stats, control_routes
from accsync_pipeline.sandbox.faults import SCOPE_KEY, Action, FaultMiddleware, FaultState, pad_to_latency
from accsync_pipeline.sandbox.ledger import Ledger
from accsync_pipeline.sandbox.limits import ConcurrencyGate, TokenBucket
from accsync_pipeline.sandbox.xledger_lookup import (
    MAX_RECORDS_PER_QUERY,
    CaseInsensitiveIndex,
    gl_import_items_page,
)
from accsync_pipeline.sandbox.xledger_schema import schema

MAX_INPUTS = 500
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's own demo credential
AUTH_FAILED_MESSAGE = "Bad format for API Token"
TIMED_OUT_MESSAGE = "Your query timed out."


class InputErrors(Exception):
    """Raised by the mutation to refuse every input at once, each error naming its clientId."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid inputs")
        self.errors = errors


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "code": code, "extensions": {"code": code, **extensions}}


def _answer(errors: list[dict[str, Any]], data: Any = None) -> JSONResponse:
    return JSONResponse({"data": data, "errors": errors} if errors else {"data": data})


def _invalid_fields(node: dict[str, Any]) -> list[str]:
    """Names of the fields of one input the sandbox refuses (no values, which may be personal)."""
    bad: list[str] = []
    try:
        amount = Decimal(node["amount"])
        if not amount.is_finite() or amount == 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            bad.append("amount")
    except (InvalidOperation, ValueError):
        bad.append("amount")
    for field in ("postedDate", "invoiceDate"):
        try:
            if node.get(field) is not None:
                date.fromisoformat(node[field])
        except ValueError:
            bad.append(field)
    code = node["account"]["code"]
    if not code or len(code) > 20 or not code.isalnum():
        bad.append("account")
    if node.get("currency") and not (
        len(node["currency"]["code"]) == 3 and node["currency"]["code"].isupper()
    ):
        bad.append("currency")
    if node.get("subledger") is not None and not node["subledger"]["code"]:
        bad.append("subledger")
    if len(node.get("extIdentifier") or "") > 100:
        bad.append("extIdentifier")
    return bad


class XledgerSandbox:
    """One Xledger entity. `app` is the ASGI app to serve."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        burst: int = 10,
        burst_per_second: float = 10.0,
        max_concurrent: int = 5,
        max_page_size: int = MAX_RECORDS_PER_QUERY,
        persist_path: Path | None = None,
    ) -> None:
        self.token = token
        self.ledger = Ledger("extIdentifier", persist_path)
        self._index = CaseInsensitiveIndex(self.ledger)
        self.faults = FaultState()
        self.stats = Stats()
        self.max_page_size = max_page_size
        self._limits = (burst, burst_per_second, max_concurrent)
        self._reset_limits()
        self._schema = schema()
        self._documents: dict[str, tuple[DocumentNode, list[GraphQLError], bool]] = {}
        self._root = {"glImportItems": self._gl_import_items, "addGLImportItems": self._add_gl_import_items}
        routes = [Route("/graphql", self._graphql, methods=["POST"])]
        routes += control_routes(self.ledger, self.faults, self.stats, self._reset_limits)
        self.app = FaultMiddleware(Starlette(routes=routes), self.faults)

    def _reset_limits(self) -> None:
        burst, per_second, max_concurrent = self._limits
        self._burst = TokenBucket(burst, per_second)
        self._gate = ConcurrencyGate(max_concurrent)

    def _parse(self, query: str) -> tuple[DocumentNode, list[GraphQLError], bool]:
        if query not in self._documents:
            try:
                document = parse(query)
            except GraphQLError as e:
                return DocumentNode(definitions=()), [e], False
            errors = validate(self._schema, document)
            is_mutation = any(
                getattr(d, "operation", None) == OperationType.MUTATION for d in document.definitions
            )
            self._documents[query] = (document, errors, is_mutation)
        return self._documents[query]

    async def _graphql(self, request: Request) -> Response:
        self.stats.requests += 1
        if request.headers.get("authorization", "").removeprefix("token ").strip() != self.token:
            return _answer([{"message": AUTH_FAILED_MESSAGE}])
        try:
            payload = json.loads(await request.body())
            document, errors, is_mutation = self._parse(str(payload["query"]))
            variables = payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return _answer([_error("body must be JSON {query, variables}", "BAD_REQUEST.INVALID_JSON")])
        if errors:
            return _answer([_error(e.message, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        if self._burst.try_take() is not None:
            self.stats.throttled += 1
            return _answer([_error("burst rate limit reached", "BAD_REQUEST.BURST_RATE_LIMIT_REACHED")])
        if not self._gate.try_enter():
            self.stats.throttled += 1
            return _answer([_error("concurrency limit reached", "BAD_REQUEST.CONCURRENCY_LIMIT_REACHED")])
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, self._gate.peak)
        try:
            return await pad_to_latency(
                self._execute(request, document, variables, is_mutation), self.faults.plan.latency_ms
            )
        finally:
            self._gate.leave()

    async def _execute(
        self, request: Request, document: DocumentNode, variables: Any, is_mutation: bool
    ) -> Response:
        action = Action.NONE
        if is_mutation:
            self.stats.postings_requests += 1
            action = self.faults.next_posting_action()
        if action == Action.RESET:
            request.scope[SCOPE_KEY] = action
            return Response(status_code=500)
        if action == Action.THROTTLE:
            self.stats.throttled += 1
            return _answer([_error("burst rate limit reached", "BAD_REQUEST.BURST_RATE_LIMIT_REACHED")])
        if action == Action.SERVER_ERROR:
            return Response("service unavailable", status_code=self.faults.plan.server_error_status)
        timed_out = is_mutation and action == Action.NONE and self.faults.take("timeout_after_commit")
        # Errors a resolver reports next to the data it returns (a partial commit's answer).
        errors: list[dict[str, Any]] = []
        result = execute_sync(
            self._schema, document, root_value=self._root, context_value=errors, variable_values=variables
        )
        if timed_out:
            return _answer([{"message": TIMED_OUT_MESSAGE}])
        for error in result.errors or []:
            if isinstance(error.original_error, InputErrors):
                errors.extend(error.original_error.errors)
            else:
                code = str((error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED"))
                errors.append(_error(error.message, code))
        if action in (Action.DROP_AFTER_COMMIT, Action.STALL_AFTER_COMMIT):
            request.scope[SCOPE_KEY] = action
        return _answer(errors, result.data)

    def _gl_import_items(
        self,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return gl_import_items_page(
            self.ledger,
            self._index,
            first=first,
            after=after,
            keys=(filter or {}).get("extIdentifier_in"),
            prefix=(filter or {}).get("extIdentifier_startsWith"),
            unrelated_items=self.faults.plan.unrelated_lookup_items,
            max_page_size=self.max_page_size,
        )

    def _add_gl_import_items(self, info: Any, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if len(inputs) > MAX_INPUTS:
            raise GraphQLError(
                f"at most {MAX_INPUTS} inputs per call", extensions={"code": "BAD_REQUEST.TOO_MANY_INPUTS"}
            )
        plan = self.faults.plan
        refused_keys = {key.upper(): code for key, code in plan.reject_keys.items()}
        problems: list[dict[str, Any]] = []
        bad: set[int] = set()
        client_ids: set[str] = set()
        for position, item in enumerate(inputs):
            client_id, node = item["clientId"], item["node"]
            named = {"clientId": client_id} if plan.name_bad_inputs else {}
            found = [("clientId is not unique", "INVALID_VALUE")] if client_id in client_ids else []
            client_ids.add(client_id)
            found += [
                (f"Invalid value for field {field}", "INVALID_VALUE") for field in _invalid_fields(node)
            ]
            refused = refused_keys.get((node.get("extIdentifier") or "").upper())
            if refused:
                found.append(("Invalid value for field account", refused))
            problems += [_error(message, code, **named) for message, code in found]
            if found:
                bad.add(position)
        stored = [] if problems and not plan.partial_commit else self._store(inputs, skip=bad)
        if not problems:
            return {"edges": stored}
        if plan.partial_data:
            info.context.extend(problems)
            return {"edges": stored}
        raise InputErrors(problems)

    def _store(self, inputs: list[dict[str, Any]], skip: set[int]) -> list[dict[str, Any]]:
        edges = []
        for position, item in enumerate(inputs):
            if position not in skip:
                line = {"dbId": self.ledger.next_sequence(), **item["node"]}
                edges.append({"clientId": item["clientId"], "node": line})
        self.ledger.add(edge["node"] for edge in edges)
        return edges
