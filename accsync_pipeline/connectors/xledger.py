"""Xledger connector: GL import items through the GraphQL API.

One record becomes one balanced pair of GL import lines sharing the record's idempotency
key as `extIdentifier`: a debit on the expense account and a credit on the payables
account with the volunteer as subledger. Each line is one mutation input, so a full
mutation (500 inputs) carries 250 records. External id of a record = the smaller `dbId`
of its pair, the same whether learnt from the mutation or from a lookup.

Field names follow Xledger's public GraphQL documentation; the input object type name
`AddGLImportItemsInput`, the filter field `extIdentifier_in`, and the `code` lookups on
`account`, `currency`, `subledger`, `transactionSource` could not be verified against a
real tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from accsync_pipeline.connectors.base import ConnectionCheck, Outcome, Posted, Rejected
from accsync_pipeline.connectors.batching import Pacer, PartialFailure, RetryPolicy, chunked, run_bounded
from accsync_pipeline.connectors.errors import AmbiguousError, ConnectorError, FatalError, RetriableError
from accsync_pipeline.connectors.http import build_client, send
from accsync_pipeline.connectors.settings import XledgerSettings, resolve_secret
from accsync_pipeline.connectors.xledger_errors import GraphQLAnswer, validate_response
from accsync_pipeline.domain.records import ExportableRecord

MAX_INPUTS_PER_MUTATION = 500
LINES_PER_RECORD = 2
RECORDS_PER_MUTATION = MAX_INPUTS_PER_MUTATION // LINES_PER_RECORD
LOOKUP_PAGE_SIZE = 500
# Posting dates are the approval's calendar day where the organizations keep their books.
BOOKKEEPING_TIMEZONE = ZoneInfo("Europe/Oslo")

ADD_GL_IMPORT_ITEMS = """
mutation AddGLImportItems($inputs: [AddGLImportItemsInput!]!) {
  addGLImportItems(inputs: $inputs) { edges { clientId node { dbId extIdentifier } } }
}
"""
GL_IMPORT_ITEMS = """
query GLImportItems($first: Int!, $after: String, $keys: [String!]) {
  glImportItems(first: $first, after: $after, filter: {extIdentifier_in: $keys}) {
    edges { node { dbId extIdentifier } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CONNECTION_PROBE = "query Probe { glImportItems(first: 1) { edges { node { dbId } } } }"


def gl_lines(record: ExportableRecord, index: int, credit_account: str) -> list[dict[str, Any]]:
    """The two mutation inputs of one record; client ids `{index}D` / `{index}C` lead back to it."""
    amount = record.amount.quantize(Decimal("0.01"))
    common = {
        "extIdentifier": record.idempotency_key,
        "postedDate": record.approved_at.astimezone(BOOKKEEPING_TIMEZONE).date().isoformat(),
        "invoiceDate": record.expense_date.isoformat(),
        "currency": {"code": record.currency},
        "text": record.description[:250],
        "transactionSource": {"code": "GL"},
    }
    debit = {**common, "account": {"code": record.expense_account}, "amount": str(amount)}
    credit = {
        **common,
        "account": {"code": credit_account},
        "amount": str(-amount),
        "subledger": {"code": record.employee_number},
    }
    return [{"clientId": f"{index}D", "node": debit}, {"clientId": f"{index}C", "node": credit}]


class XledgerConnector:
    """Posts records as GL import items; see the module docstring for the mapping."""

    name = "xledger"

    def __init__(
        self,
        settings: XledgerSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._token = resolve_secret(settings.token_env)
        self._url = f"{settings.base_url}/graphql"
        self._client = build_client(
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            transport=transport,
        )
        self._pacer = Pacer(settings.requests_per_second)
        self._retry = retry or RetryPolicy()

    def export(self, records: Iterable[ExportableRecord]) -> Iterator[Outcome]:
        return run_bounded(
            self._export_chunk, chunked(records, RECORDS_PER_MUTATION), self._settings.max_concurrency
        )

    def lookup(self, idempotency_keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, int] = {}
        for keys in chunked(dict.fromkeys(idempotency_keys), RECORDS_PER_MUTATION):
            after: str | None = None
            while True:
                data = self._graphql_with_retries(
                    GL_IMPORT_ITEMS, {"first": LOOKUP_PAGE_SIZE, "after": after, "keys": keys}
                )
                page = data["glImportItems"]
                for edge in page["edges"]:
                    key, db_id = edge["node"]["extIdentifier"], int(edge["node"]["dbId"])
                    found[key] = min(db_id, found.get(key, db_id))
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
        return {key: str(db_id) for key, db_id in found.items()}

    def test_connection(self) -> ConnectionCheck:
        try:
            self._graphql(CONNECTION_PROBE, {})
        except ConnectorError as e:
            return ConnectionCheck(ok=False, message=str(e))
        return ConnectionCheck(ok=True, message=f"connected to Xledger at {self._settings.base_url}")

    def close(self) -> None:
        self._client.close()

    def _graphql(self, query: str, variables: dict[str, Any]) -> GraphQLAnswer:
        self._pacer.acquire()
        response = send(
            self._client,
            "POST",
            self._url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"token {self._token}"},
        )
        return validate_response(response)

    def _graphql_with_retries(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """For reads only: repeating a read is always safe, ambiguous or not."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._graphql(query, variables)
            except RetriableError as e:
                self._retry.wait_or_raise(e, attempt)
                continue
            if answer.input_errors or answer.data is None:
                raise FatalError("Xledger answered a lookup without data")
            return answer.data

    def _export_chunk(self, chunk: list[ExportableRecord]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            self._post_until_settled(chunk, outcomes)
        except ConnectorError as e:
            raise PartialFailure(list(outcomes), e) from e
        return outcomes

    def _post_until_settled(self, chunk: list[ExportableRecord], outcomes: list[Outcome]) -> None:
        """Post `chunk`, appending one outcome per record.

        Xledger stores all inputs of a mutation or none, so invalid inputs are set aside as
        rejected and the rest re-sent. After an ambiguous failure the keys are looked up
        first; only records not found are sent again.
        """
        pending = {record.idempotency_key: record for record in chunk}
        failures = 0
        unsure = False
        while pending:
            if unsure:
                for key, external_id in self.lookup(list(pending)).items():
                    record = pending.pop(key)
                    outcomes.append(Posted(record.record_id, key, external_id, found_by_lookup=True))
                unsure = False
                if not pending:
                    return
            batch = list(pending.values())
            inputs = [
                line
                for i, record in enumerate(batch)
                for line in gl_lines(record, i, self._settings.credit_account)
            ]
            try:
                answer = self._graphql(ADD_GL_IMPORT_ITEMS, {"inputs": inputs})
            except RetriableError as e:
                failures += 1
                unsure = isinstance(e, AmbiguousError)
                self._retry.wait_or_raise(e, failures)
                continue
            if answer.input_errors:
                self._set_aside_rejected(batch, answer, pending, outcomes)
                continue
            if answer.data is None:
                raise FatalError("Xledger answered the mutation without data")
            pair_ids: dict[str, int] = {}
            for edge in answer.data["addGLImportItems"]["edges"]:
                index, db_id = int(edge["clientId"][:-1]), int(edge["node"]["dbId"])
                key = batch[index].idempotency_key
                pair_ids[key] = min(db_id, pair_ids.get(key, db_id))
            for record in batch:
                key = record.idempotency_key
                if key not in pair_ids:
                    raise FatalError(f"Xledger stored the mutation but returned no id for key {key}")
                outcomes.append(Posted(record.record_id, key, str(pair_ids[key])))
            return

    @staticmethod
    def _set_aside_rejected(
        batch: list[ExportableRecord],
        answer: GraphQLAnswer,
        pending: dict[str, ExportableRecord],
        outcomes: list[Outcome],
    ) -> None:
        rejected: dict[int, list[str]] = {}
        codes: dict[int, str | None] = {}
        for client_id, problem in answer.input_errors.items():
            index = int(client_id[:-1]) if client_id[:-1].isdigit() else -1
            if 0 <= index < len(batch):
                rejected.setdefault(index, []).append(problem.message)
                codes.setdefault(index, problem.code)
        if not rejected:
            # Nothing we can attribute: re-sending would fail the same way forever.
            raise FatalError(
                f"Xledger refused the mutation naming unknown inputs: {sorted(answer.input_errors)}"
            )
        for index, messages in sorted(rejected.items()):
            record = batch[index]
            pending.pop(record.idempotency_key, None)
            reason = "; ".join(dict.fromkeys(messages))
            outcomes.append(Rejected(record.record_id, record.idempotency_key, reason, codes[index]))
