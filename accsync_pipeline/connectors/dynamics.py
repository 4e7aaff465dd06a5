"""Business Central connector: general journal lines through the API v2.0, 100 per `$batch`.

One record = one journal line: the expense G/L account debited, balanced by the
volunteer's Employee account, with the idempotency key as `externalDocumentNumber`.
Batches go without `Isolation: snapshot`, so each line succeeds or fails on its own.
Amounts go as exact JSON numbers, the documented form (`dynamics_json`).

Lookups search journal lines and posted general ledger entries, packed as GETs into
`$batch` requests (`dynamics_lookup`): about 75 GETs, one `$batch`, for 1,000 records
with hashed or upper-case keys, twice that when their legacy keys are asked for too (only
records an older accsync could have sent: `ExportableRecord.may_hold_legacy_keys`).
Keys are compared upper-cased, as BC stores Code fields. The error code for an unknown
company or journal could not be verified against a real tenant.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from accsync_pipeline.connectors.base import ConnectionCheck, Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.batching import RetryPolicy
from accsync_pipeline.connectors.dynamics_auth import TokenCache
from accsync_pipeline.connectors.dynamics_errors import error_body, error_for, validate_response
from accsync_pipeline.connectors.dynamics_json import dumps_exact
from accsync_pipeline.connectors.dynamics_lookup import (
    ENTRIES,
    LINES,
    MAX_URL_LENGTH,
    LookupAnswer,
    LookupGet,
    filter_gets,
)
from accsync_pipeline.connectors.errors import (
    AmbiguousError,
    ConnectorError,
    FatalError,
    RecordRejected,
    RetriableError,
)
from accsync_pipeline.connectors.http import build_client, parse_retry_after, send
from accsync_pipeline.connectors.settings import DynamicsSettings, resolve_secret
from accsync_pipeline.connectors.shell import (
    DEFAULT_BOOKKEEPING_TIMEZONE,
    ReadRetry,
    export_in_batches,
    posting_date,
)
from accsync_pipeline.domain.reconcile import DOCUMENT_PREFIX, KEY_PREFIX, Holding
from accsync_pipeline.domain.records import ExportableRecord, LedgerKeys

MAX_REQUESTS_PER_BATCH = 100
JSON = "application/json"
NO_SERIES_WARNING = (
    "Business Central's API does not show the journal batch's No. Series: check in Business "
    "Central that batch {code} has no No. Series and no Posting No. Series, or posted records "
    "get other document numbers and a re-export cannot recognise them"
)


def journal_line(record: ExportableRecord, bookkeeping_timezone: ZoneInfo) -> dict[str, Any]:
    """The journalLines body of one record, dated in the org's bookkeeping timezone."""
    return {
        "accountType": "G/L Account",
        "accountNumber": record.expense_account,
        "postingDate": posting_date(record.approved_at, bookkeeping_timezone).isoformat(),
        "documentNumber": record.document_number,
        "externalDocumentNumber": record.idempotency_key,
        "amount": record.amount.quantize(Decimal("0.01")),
        "description": record.description[:100],
        "balanceAccountType": "Employee",
        "balancingAccountNumber": record.employee_number,
    }


@dataclass(frozen=True)
class LineBatch:
    """Records of one `$batch` and its request body, written before a worker is free to send it."""

    records: list[ExportableRecord]
    content: str


class DynamicsConnector:
    """Posts records as general journal lines; see the module docstring for the mapping."""

    name = "dynamics"
    # The first records of a run are looked up in growing windows (`service.export.looked_up_ahead`),
    # each one lookup request: 500 records fill a round of postings (5 x 100), whose time covers
    # the lookup of the next 1,000; the rest of the first chunk follows.
    first_lookup_windows = (500, 1000)

    def __init__(
        self,
        settings: DynamicsSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        bookkeeping_timezone: str = DEFAULT_BOOKKEEPING_TIMEZONE,
    ) -> None:
        self._settings = settings
        self._timezone = ZoneInfo(bookkeeping_timezone)
        secret = resolve_secret(settings.client_secret_env)
        self._client = build_client(
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            transport=transport,
        )
        self._tokens = TokenCache(
            self._client,
            f"{settings.auth_url}/{settings.tenant}/oauth2/v2.0/token",
            settings.client_id,
            secret,
            settings.scope,
        )
        self._root = f"{settings.base_url}/v2.0/{settings.tenant}/{settings.environment}/api/v2.0"
        self._company = f"companies({settings.company_id})"
        self._lines = f"{self._company}/journals({settings.journal_id})/journalLines"
        self._entries = f"{self._company}/generalLedgerEntries"
        # BC resolves a URL inside `$batch` against the API root: the two together stay within
        # the limit (less one character for the slash between them).
        self._url_budget = MAX_URL_LENGTH - len(self._root) - 1
        self._retry = retry or RetryPolicy()
        # Postings in flight, at most `max_concurrency` (Business Central processes 5 at once).
        # Held for a request and its answer's bytes only: a batch's answer is read and settled
        # outside it, while a sixth batch's thread already sends (`export`).
        self._posting_slots = threading.BoundedSemaphore(settings.max_concurrency)

    def export(self, records: Iterable[ExportableRecord]) -> Iterator[Outcome]:
        return export_in_batches(
            records,
            batch_size=MAX_REQUESTS_PER_BATCH,
            # One thread more than postings in flight (`_posting_slots` bounds those): the
            # next batch goes out the moment an answer is in, not once it has been settled.
            max_concurrency=self._settings.max_concurrency + 1,
            prepare=lambda chunk: LineBatch(chunk, self._lines_content(chunk)),
            post_until_settled=self._post_until_settled,
            # A whole round of batches waits ready: Business Central allows 5 requests at once
            # whatever their size, so a slot left idle while the next window of records is
            # read and looked up is a round's worth of throughput lost.
            queued=self._settings.max_concurrency,
        )

    def lookup(self, records: Sequence[LedgerKeys]) -> dict[str, str]:
        """record_id -> id of each record in the journal or posted from it; see `dynamics_lookup`."""
        answer = LookupAnswer(records)
        gets = [
            *filter_gets(
                LINES,
                self._lines,
                "externalDocumentNumber",
                answer.keys,
                "id,externalDocumentNumber",
                self._url_budget,
            ),
            *filter_gets(
                ENTRIES,
                self._entries,
                "documentNumber",
                answer.documents,
                "id,entryNumber,documentNumber",
                self._url_budget,
            ),
        ]
        for collection, row in self._batched_gets(gets):
            answer.add(collection, row)
        return answer.found()

    def ledger_holdings(self) -> Iterator[Holding]:
        """See `Connector.ledger_holdings`: journal lines keyed `ACCSYNC-…` and posted entries
        numbered `AS-…`. One posted journal line makes two entries (the line and its balance),
        so entries of a document count in pairs. `startswith` may be ignored like `in`: every
        row is checked for the prefix here, and the pages follow `@odata.nextLink`."""
        gets = [
            LookupGet(
                LINES,
                f"{self._lines}?$filter=startswith(externalDocumentNumber,'{KEY_PREFIX.upper()}')"
                "&$select=id,externalDocumentNumber",
            ),
            LookupGet(
                ENTRIES,
                f"{self._entries}?$filter=startswith(documentNumber,'{DOCUMENT_PREFIX}')"
                "&$select=id,entryNumber,documentNumber",
            ),
        ]
        lines: dict[str, list[str]] = {}
        entries: dict[str, list[tuple[int, str]]] = {}
        for collection, row in self._batched_gets(gets):
            if not isinstance(row, dict) or not row.get("id"):
                continue
            if collection == LINES:
                key = str(row.get("externalDocumentNumber") or "").upper()
                if key.startswith(KEY_PREFIX.upper()):
                    lines.setdefault(key, []).append(str(row["id"]))
                continue
            document = str(row.get("documentNumber") or "").upper()
            try:
                entry = (int(row.get("entryNumber", 0)), str(row["id"]))
            except (TypeError, ValueError):
                continue
            if document.startswith(DOCUMENT_PREFIX):
                entries.setdefault(document, []).append(entry)
        for key, ids in lines.items():
            yield Holding(key, ids[0], postings=len(ids), place=LINES)
        for document, found in entries.items():
            yield Holding(document, min(found)[1], postings=(len(found) + 1) // 2, place=ENTRIES)

    def test_connection(self) -> ConnectionCheck:
        """Reads the company and the journal; always warns about the No. Series it cannot see.

        The API v2.0 `journal` entity (APIV2 "Journals" page in microsoft/BCApps) has id,
        code, displayName, templateDisplayName, balancingAccountId/Number and no No. Series;
        posted entries carry no externalDocumentNumber to compare with. So renumbering is
        invisible until a re-export misses posted records: the check says what to verify.
        """
        try:
            self._read(f"{self._root}/{self._company}")
            journal = self._read(f"{self._root}/{self._company}/journals({self._settings.journal_id})")
        except ConnectorError as e:
            return ConnectionCheck(ok=False, message=str(e))
        warning = NO_SERIES_WARNING.format(code=str(journal.get("code") or self._settings.journal_id))
        message = f"connected to Business Central company {self._settings.company_id}; warning: {warning}"
        return ConnectionCheck(ok=True, message=message, warning=warning)

    def close(self) -> None:
        self._client.close()

    def _request(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One authorised request; a refused token is replaced once, as it may have been revoked early."""
        for attempt in (1, 2):
            token = self._tokens.token()
            headers = (headers or {}) | {"Authorization": f"Bearer {token}", "Accept": JSON}
            response = send(self._client, method, url, headers=headers, **kwargs)
            if response.status_code != 401 or attempt == 2:
                return response
            self._tokens.invalidate(token)
        raise AssertionError("unreachable")

    def _read(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        retry = ReadRetry(self._retry)
        body = retry.read(lambda: validate_response(self._request("GET", url, params=params)))
        return body if isinstance(body, dict) else {}

    def _lines_content(self, batch: list[ExportableRecord]) -> str:
        """The `$batch` body posting one journal line per record; request ids are positions."""
        requests = [
            {
                "id": str(i),
                "method": "POST",
                "url": self._lines,
                "headers": {"Content-Type": JSON},
                "body": journal_line(record, self._timezone),
            }
            for i, record in enumerate(batch)
        ]
        return dumps_exact({"requests": requests})

    def _send_batch(self, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return self._send_content(dumps_exact({"requests": requests}))

    def _send_content(self, content: str, posting: bool = False) -> dict[str, dict[str, Any]]:
        """Send one `$batch`; a posting one holds a posting slot until its answer is read."""
        with self._posting_slots if posting else contextlib.nullcontext():
            response = self._request(
                "POST", f"{self._root}/$batch", content=content, headers={"Content-Type": JSON}
            )
        body = validate_response(response)
        responses = body.get("responses", []) if isinstance(body, dict) else []
        return {str(item.get("id")): item for item in responses if isinstance(item, dict)}

    def _batched_gets(self, gets: list[LookupGet]) -> Iterator[tuple[str, Any]]:
        """(collection, row) of every GET and its further pages, 100 GETs per `$batch`.

        Reads are safe to repeat: a whole batch or one GET in it that fails transiently is
        sent again, after the longest Retry-After any of them asked for.
        """
        queue: deque[tuple[LookupGet, int]] = deque((get, 0) for get in gets)
        whole = ReadRetry(self._retry)  # failures of a whole batch, across rounds
        while queue:
            round_ = [queue.popleft() for _ in range(min(MAX_REQUESTS_PER_BATCH, len(queue)))]
            requests = [
                {"id": str(i), "method": "GET", "url": get.url, "headers": {"Accept": JSON}}
                for i, (get, _) in enumerate(round_)
            ]
            answers = whole.read(lambda: self._send_batch(requests))  # noqa: B023 - called at once
            again: list[tuple[LookupGet, int]] = []
            worst: tuple[int, RetriableError] | None = None
            for i, (get, failures) in enumerate(round_):
                item = answers.get(str(i))
                body = item.get("body") if item is not None else None
                error = self._lookup_error(item, body)
                if error is None and isinstance(body, dict):
                    yield from ((get.collection, row) for row in body.get("value") or [])
                    if next_link := body.get("@odata.nextLink"):
                        queue.append((LookupGet(get.collection, str(next_link)), 0))
                    continue
                if not isinstance(error, RetriableError):
                    raise error or AmbiguousError("Business Central answered a lookup with no rows")
                again.append((get, failures + 1))
                if worst is None or (error.retry_after or 0) >= (worst[1].retry_after or 0):
                    worst = (max(failures + 1, worst[0] if worst else 0), error)
            if worst is not None:
                self._retry.wait_or_raise(worst[1], worst[0])
                queue.extendleft(reversed(again))

    @staticmethod
    def _lookup_error(item: dict[str, Any] | None, body: Any) -> ConnectorError | None:
        if item is None:
            return AmbiguousError("Business Central's batch answer left a lookup out")
        code, _ = error_body(body)
        retry_after = parse_retry_after((item.get("headers") or {}).get("Retry-After"))
        error = error_for(int(item.get("status", 0)), code, retry_after)
        if isinstance(error, RecordRejected):  # a refused lookup is our request's fault
            return FatalError(f"Business Central refused a lookup (HTTP {item.get('status')} {code})")
        if error is None and not isinstance(body, dict):
            return AmbiguousError("Business Central answered a lookup with no rows")
        return error

    def _post_until_settled(self, batch: LineBatch, outcomes: list[Outcome]) -> None:
        """Post `batch`, then re-send only the lines that failed transiently.

        Lines whose fate is unknown (the whole batch was lost, or one line got a 5xx) are
        looked up before any re-send. When the retry budget runs out with lines still
        failing, those lines become TransientFailure; a whole batch still failing raises.
        """
        pending = {record.idempotency_key: record for record in batch.records}
        content: str | None = batch.content
        unsure: set[str] = set()
        failures = 0
        while pending:
            if unsure:
                self._resolve_by_lookup(pending, unsure, outcomes)
                if not pending:
                    return
            lines = list(pending.values())
            try:
                # The first send carries the body prepared ahead; a re-send only what is pending.
                responses = self._send_content(content or self._lines_content(lines), posting=True)
                content = None
            except RetriableError as e:
                content = None
                failures += 1
                if isinstance(e, AmbiguousError):
                    unsure.update(pending)
                self._retry.wait_or_raise(e, failures)
                continue
            last_error = self._settle_lines(lines, responses, pending, unsure, outcomes)
            if last_error is None:
                continue
            failures += 1
            try:
                self._retry.wait_or_raise(last_error, failures)
            except RetriableError:
                if unsure:
                    self._resolve_by_lookup(pending, unsure, outcomes)
                for key, record in pending.items():
                    outcomes.append(TransientFailure(record.record_id, key, str(last_error)))
                return

    def _settle_lines(
        self,
        batch: list[ExportableRecord],
        responses: dict[str, dict[str, Any]],
        pending: dict[str, ExportableRecord],
        unsure: set[str],
        outcomes: list[Outcome],
    ) -> RetriableError | None:
        """Record the outcome of each line's answer; return an error if some lines must be re-sent."""
        last_error: RetriableError | None = None
        for i, record in enumerate(batch):
            key = record.idempotency_key
            item = responses.get(str(i))
            if item is None:
                unsure.add(key)
                last_error = AmbiguousError("Business Central's batch answer left a line out")
                continue
            status, body = int(item.get("status", 0)), item.get("body")
            if 200 <= status < 300 and isinstance(body, dict) and "id" in body:  # the usual answer
                outcomes.append(Posted(record.record_id, key, str(body["id"])))
                del pending[key]
                continue
            code, message = error_body(body)
            retry_after = parse_retry_after((item.get("headers") or {}).get("Retry-After"))
            error = error_for(status, code, retry_after)
            if error is None and isinstance(body, dict) and "id" in body:
                outcomes.append(Posted(record.record_id, key, str(body["id"])))
                del pending[key]
            elif isinstance(error, RecordRejected):
                outcomes.append(Rejected(record.record_id, key, message or str(error), code))
                del pending[key]
            elif isinstance(error, RetriableError):
                if isinstance(error, AmbiguousError):
                    unsure.add(key)
                last_error = error
            elif error is not None:
                raise error
            else:  # stored, but we cannot tell under which id: the lookup will say
                unsure.add(key)
                last_error = AmbiguousError("Business Central accepted a line without returning its id")
        return last_error

    def _resolve_by_lookup(
        self, pending: dict[str, ExportableRecord], unsure: set[str], outcomes: list[Outcome]
    ) -> None:
        asked = [pending[key] for key in sorted(unsure & pending.keys())]
        found = self.lookup([record.ledger_keys for record in asked])
        for record in asked:
            external_id = found.get(record.record_id)
            if external_id is not None:
                del pending[record.idempotency_key]
                outcomes.append(
                    Posted(record.record_id, record.idempotency_key, external_id, found_by_lookup=True)
                )
        unsure.clear()
