"""Business Central connector: general journal lines through the API v2.0, 100 per `$batch`.

One record = one journal line: the expense G/L account debited, balanced by the
volunteer's Employee account, with the idempotency key as `externalDocumentNumber`.
Batches go without `Isolation: snapshot`, so each line succeeds or fails on its own.

Field names follow Microsoft's API v2.0 reference; sending decimals as strings under
`IEEE754Compatible=true` inside a JSON `$batch`, and the error code for an unknown
company or journal, could not be verified against a real tenant. Lookups read
`journalLines`, which only holds lines until the journal is posted in BC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from accsync_pipeline.connectors.base import ConnectionCheck, Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.batching import PartialFailure, RetryPolicy, chunked, run_bounded
from accsync_pipeline.connectors.dynamics_auth import TokenCache
from accsync_pipeline.connectors.dynamics_errors import error_body, error_for, validate_response
from accsync_pipeline.connectors.errors import (
    AmbiguousError,
    ConnectorError,
    RecordRejected,
    RetriableError,
)
from accsync_pipeline.connectors.http import build_client, parse_retry_after, send
from accsync_pipeline.connectors.settings import DynamicsSettings, resolve_secret
from accsync_pipeline.domain.records import ExportableRecord

MAX_REQUESTS_PER_BATCH = 100
LOOKUP_KEYS_PER_REQUEST = 50
BOOKKEEPING_TIMEZONE = ZoneInfo("Europe/Oslo")
DECIMAL_AS_STRING = "application/json; IEEE754Compatible=true"


def journal_line(record: ExportableRecord) -> dict[str, Any]:
    """The journalLines body of one record."""
    return {
        "accountType": "G/L Account",
        "accountNumber": record.expense_account,
        "postingDate": record.approved_at.astimezone(BOOKKEEPING_TIMEZONE).date().isoformat(),
        "documentNumber": record.document_number,
        "externalDocumentNumber": record.idempotency_key,
        "amount": str(record.amount.quantize(Decimal("0.01"))),
        "description": record.description[:100],
        "balanceAccountType": "Employee",
        "balancingAccountNumber": record.employee_number,
    }


class DynamicsConnector:
    """Posts records as general journal lines; see the module docstring for the mapping."""

    name = "dynamics"

    def __init__(
        self,
        settings: DynamicsSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
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
        self._retry = retry or RetryPolicy()

    def export(self, records: Iterable[ExportableRecord]) -> Iterator[Outcome]:
        return run_bounded(
            self._export_chunk, chunked(records, MAX_REQUESTS_PER_BATCH), self._settings.max_concurrency
        )

    def lookup(self, idempotency_keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for keys in chunked(dict.fromkeys(idempotency_keys), LOOKUP_KEYS_PER_REQUEST):
            quoted = ",".join("'" + key.replace("'", "''") + "'" for key in keys)
            params: dict[str, str] | None = {
                "$filter": f"externalDocumentNumber in ({quoted})",
                "$select": "id,externalDocumentNumber",
            }
            url = f"{self._root}/{self._lines}"
            while url:
                page = self._read(url, params)
                for line in page.get("value", []):
                    found.setdefault(line["externalDocumentNumber"], line["id"])
                url, params = page.get("@odata.nextLink", ""), None
        return found

    def test_connection(self) -> ConnectionCheck:
        try:
            self._read(f"{self._root}/{self._company}")
            self._read(f"{self._root}/{self._company}/journals({self._settings.journal_id})")
        except ConnectorError as e:
            return ConnectionCheck(ok=False, message=str(e))
        return ConnectionCheck(
            ok=True, message=f"connected to Business Central company {self._settings.company_id}"
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One authorised request; a refused token is replaced once, as it may have been revoked early."""
        for attempt in (1, 2):
            token = self._tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            response = send(self._client, method, url, headers=headers, **kwargs)
            if response.status_code != 401 or attempt == 2:
                return response
            self._tokens.invalidate(token)
        raise AssertionError("unreachable")

    def _read(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            try:
                body = validate_response(self._request("GET", url, params=params))
            except RetriableError as e:  # reads are safe to repeat, ambiguous or not
                self._retry.wait_or_raise(e, attempt)
                continue
            return body if isinstance(body, dict) else {}

    def _post_batch(self, batch: list[ExportableRecord]) -> dict[str, dict[str, Any]]:
        requests = [
            {
                "id": str(i),
                "method": "POST",
                "url": self._lines,
                "headers": {"Content-Type": DECIMAL_AS_STRING},
                "body": journal_line(record),
            }
            for i, record in enumerate(batch)
        ]
        body = validate_response(self._request("POST", f"{self._root}/$batch", json={"requests": requests}))
        return {str(item.get("id")): item for item in body.get("responses", []) if isinstance(item, dict)}

    def _export_chunk(self, chunk: list[ExportableRecord]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            self._post_until_settled(chunk, outcomes)
        except ConnectorError as e:
            raise PartialFailure(list(outcomes), e) from e
        return outcomes

    def _post_until_settled(self, chunk: list[ExportableRecord], outcomes: list[Outcome]) -> None:
        """Post `chunk` as one batch, then re-send only the lines that failed transiently.

        Lines whose fate is unknown (the whole batch was lost, or one line got a 5xx) are
        looked up before any re-send. When the retry budget runs out with lines still
        failing, those lines become TransientFailure; a whole batch still failing raises.
        """
        pending = {record.idempotency_key: record for record in chunk}
        unsure: set[str] = set()
        failures = 0
        while pending:
            if unsure:
                self._resolve_by_lookup(pending, unsure, outcomes)
                if not pending:
                    return
            batch = list(pending.values())
            try:
                responses = self._post_batch(batch)
            except RetriableError as e:
                failures += 1
                if isinstance(e, AmbiguousError):
                    unsure.update(pending)
                self._retry.wait_or_raise(e, failures)
                continue
            last_error = self._settle_lines(batch, responses, pending, unsure, outcomes)
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
        for key, external_id in self.lookup(sorted(unsure & pending.keys())).items():
            record = pending.pop(key)
            outcomes.append(Posted(record.record_id, key, external_id, found_by_lookup=True))
        unsure.clear()
