"""Xledger connector: GL import items through the GraphQL API.

One record becomes one balanced pair of GL import lines sharing the record's idempotency
key as `extIdentifier`: a debit on the expense account and a credit on the payables
account with the volunteer as subledger. Each line is one mutation input, so a full
mutation (500 inputs) carries 250 records. External id of a record = the smaller `dbId`
of its pair, the same whether learnt from the mutation or from a lookup.

Exactly once (DESIGN "What exactly once means here"): whether a mass mutation is atomic,
and whether its errors name the bad inputs, is unverified. So after any answer that
carries errors, and after any ambiguous failure ("Your query timed out.", a lost answer,
5xx), the records of the request are looked up before anything is sent again; only those
not found are sent again. Inputs named invalid become `Rejected` with Xledger's own text.
When the errors name no input, the records not found are sent again in halves until each
error belongs to a request of one record, within `MAX_MUTATIONS_PER_CHUNK` requests.

Field names follow Xledger's public GraphQL documentation; the input object type name
`AddGLImportItemsInput`, the filter field `extIdentifier_in`, and the `code` lookups on
`account`, `currency`, `subledger`, `transactionSource` could not be verified against a
real tenant.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from accsync_pipeline.connectors.base import ConnectionCheck, Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.batching import Pacer, RetryPolicy
from accsync_pipeline.connectors.errors import AmbiguousError, ConnectorError, RetriableError
from accsync_pipeline.connectors.http import build_client, send
from accsync_pipeline.connectors.settings import XledgerSettings, resolve_secret
from accsync_pipeline.connectors.shell import DEFAULT_BOOKKEEPING_TIMEZONE, export_in_batches, posting_date
from accsync_pipeline.connectors.xledger_errors import GraphQLAnswer, InputProblem, validate_response
from accsync_pipeline.connectors.xledger_lookup import LedgerLine, find_lines, is_balanced, lines_with_prefix
from accsync_pipeline.domain.reconcile import KEY_PREFIX, Holding
from accsync_pipeline.domain.records import ExportableRecord, LedgerKeys, records_by_key

MAX_INPUTS_PER_MUTATION = 500
LINES_PER_RECORD = 2
RECORDS_PER_MUTATION = MAX_INPUTS_PER_MUTATION // LINES_PER_RECORD
# Requests are billed: a chunk whose errors name no input gets this many mutations to find
# its bad records by halving (one bad record among 250 needs about 17), then the records
# still not posted are left for a later run as transient failures.
MAX_MUTATIONS_PER_CHUNK = 32
PARTIALLY_STORED = "PARTIALLY_STORED"

ADD_GL_IMPORT_ITEMS = """
mutation AddGLImportItems($inputs: [AddGLImportItemsInput!]!) {
  addGLImportItems(inputs: $inputs) { edges { clientId node { dbId extIdentifier } } }
}
"""
CONNECTION_PROBE = "query Probe { glImportItems(first: 1) { edges { node { dbId } } } }"


def gl_lines(
    record: ExportableRecord, index: int, credit_account: str, bookkeeping_timezone: ZoneInfo
) -> list[dict[str, Any]]:
    """The two mutation inputs of one record; client ids `{index}D` / `{index}C` lead back to it.

    The posted date is the approval's calendar day where the org keeps its books.
    """
    amount = record.amount.quantize(Decimal("0.01"))
    common = {
        "extIdentifier": record.idempotency_key,
        "postedDate": posting_date(record.approved_at, bookkeeping_timezone).isoformat(),
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


def external_id(lines: Iterable[LedgerLine]) -> str:
    """A record's id in Xledger: the smaller dbId of its lines (mutation answer and lookup alike)."""
    return str(min(line.db_id for line in lines))


def _reason(problems: Sequence[InputProblem]) -> tuple[str, str | None]:
    reason = "; ".join(dict.fromkeys(problem.message for problem in problems))
    return reason, next((problem.code for problem in problems if problem.code), None)


class XledgerConnector:
    """Posts records as GL import items; see the module docstring for the mapping."""

    name = "xledger"

    def __init__(
        self,
        settings: XledgerSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        bookkeeping_timezone: str = DEFAULT_BOOKKEEPING_TIMEZONE,
    ) -> None:
        self._settings = settings
        self._timezone = ZoneInfo(bookkeeping_timezone)
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
        return export_in_batches(
            records,
            batch_size=RECORDS_PER_MUTATION,
            max_concurrency=self._settings.max_concurrency,
            prepare=lambda chunk: chunk,
            post_until_settled=self._post_until_settled,
        )

    def lookup(self, records: Sequence[LedgerKeys]) -> dict[str, str]:
        """See `Connector.lookup`: one request per 2,500 records unless the answer pages.

        A record counts as in the ledger when any line carries its key, even an unbalanced
        part of a pair: sending it again could only add a second posting.
        """
        # Legacy keys too, where `records` carry them: a record an older accsync could have sent
        # (`domain.legacy_keys`) may stand under them.
        # Asked as sent (Xledger keeps a key's case), matched upper-cased.
        by_key = records_by_key(records)
        asked = [
            key
            for record in records
            for key in (record.idempotency_key, record.legacy_idempotency_key)
            if key is not None and by_key.get(key.upper()) == record.record_id
        ]
        lines = self._find_lines(asked)
        found: dict[str, list[LedgerLine]] = {}
        for key, record_id in by_key.items():
            found.setdefault(record_id, []).extend(lines.get(key, []))
        return {record_id: external_id(held) for record_id, held in found.items() if held}

    def ledger_holdings(self) -> Iterator[Holding]:
        """See `Connector.ledger_holdings`: GL import lines keyed `accsync-…`, a pair per posting."""
        for key, lines in lines_with_prefix(self._graphql, self._retry, KEY_PREFIX).items():
            yield Holding(key, external_id(lines), postings=(len(lines) + 1) // 2, place="glImportItems")

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

    def _find_lines(self, keys: Sequence[str]) -> dict[str, list[LedgerLine]]:
        return find_lines(self._graphql, self._retry, keys)

    def _post_until_settled(self, chunk: list[ExportableRecord], outcomes: list[Outcome]) -> None:
        """Post `chunk`, appending one outcome per record; no record is ever sent twice
        unless a lookup showed that the ledger does not hold it."""
        groups: deque[list[ExportableRecord]] = deque([chunk])
        mutations = failures = 0
        last_problems: list[InputProblem] = []
        while groups:
            group = groups.popleft()
            if not group:
                continue
            if mutations >= MAX_MUTATIONS_PER_CHUNK:
                why = _reason(last_problems)[0] or "no reason given"
                outcomes.extend(
                    TransientFailure(
                        r.record_id,
                        r.idempotency_key,
                        f"Xledger kept refusing the request, not posted: {why}",
                    )
                    for r in group
                )
                continue
            mutations += 1
            inputs = [
                line
                for i, record in enumerate(group)
                for line in gl_lines(record, i, self._settings.credit_account, self._timezone)
            ]
            try:
                answer = self._graphql(ADD_GL_IMPORT_ITEMS, {"inputs": inputs})
            except AmbiguousError as e:
                failures += 1
                self._retry.wait_or_raise(e, failures)
                groups.appendleft(self._settle_by_lookup(group, outcomes))
                continue
            except RetriableError as e:
                failures += 1
                self._retry.wait_or_raise(e, failures)
                groups.appendleft(group)
                continue
            if answer.has_errors:
                last_problems = [p for ps in answer.input_errors.values() for p in ps] + answer.unattributed
                groups.extendleft(reversed(self._settle_errored(group, answer, outcomes)))
            else:
                groups.appendleft(self._settle_stored(group, answer, outcomes))

    def _settle_stored(
        self, group: list[ExportableRecord], answer: GraphQLAnswer, outcomes: list[Outcome]
    ) -> list[ExportableRecord]:
        """An answer without errors: every record it gives ids for is posted; the rest are looked up."""
        ids: dict[int, list[LedgerLine]] = {}
        connection = (answer.data or {}).get("addGLImportItems")
        edges = connection.get("edges") if isinstance(connection, dict) else None
        for edge in edges if isinstance(edges, list) else []:
            try:
                index, db_id = int(str(edge["clientId"])[:-1]), int(edge["node"]["dbId"])
            except (KeyError, TypeError, ValueError):
                continue
            if 0 <= index < len(group):
                ids.setdefault(index, []).append(LedgerLine(db_id, None))
        unsure = []
        for index, record in enumerate(group):
            if index in ids:
                outcomes.append(Posted(record.record_id, record.idempotency_key, external_id(ids[index])))
            else:
                unsure.append(record)
        return self._settle_by_lookup(unsure, outcomes) if unsure else []

    def _settle_errored(
        self, group: list[ExportableRecord], answer: GraphQLAnswer, outcomes: list[Outcome]
    ) -> list[list[ExportableRecord]]:
        """An answer with errors, which may have stored some inputs: look up, then decide.

        Returns the groups to send next. Records found are posted; records named invalid are
        rejected; the others were refused only because of their neighbours when every error
        names its input, else it is unknown which of them caused the errors.
        """
        named: dict[int, list[InputProblem]] = {}
        unattributed = list(answer.unattributed)
        for client_id, problems in answer.input_errors.items():
            index = int(client_id[:-1]) if client_id[:-1].isdigit() else -1
            if 0 <= index < len(group):
                named.setdefault(index, []).extend(problems)
            else:
                unattributed.extend(problems)
        positions = {id(record): index for index, record in enumerate(group)}
        remaining: list[ExportableRecord] = []
        for record in self._settle_by_lookup(group, outcomes):
            problems = named.get(positions[id(record)], [])
            if problems:
                outcomes.append(Rejected(record.record_id, record.idempotency_key, *_reason(problems)))
            else:
                remaining.append(record)
        if not remaining or not unattributed:
            return [remaining]
        if len(group) == 1:
            outcomes.append(Rejected(group[0].record_id, group[0].idempotency_key, *_reason(unattributed)))
            return []
        half = (len(remaining) + 1) // 2
        return [remaining[:half], remaining[half:]]

    def _settle_by_lookup(
        self, group: list[ExportableRecord], outcomes: list[Outcome]
    ) -> list[ExportableRecord]:
        """Records of `group` the ledger holds become outcomes; the ones it does not are returned."""
        lines = self._find_lines([record.idempotency_key for record in group])
        absent = []
        for record in group:
            found = lines.get(record.idempotency_key.upper())
            if not found:
                absent.append(record)
            elif is_balanced(found):
                outcomes.append(
                    Posted(record.record_id, record.idempotency_key, external_id(found), found_by_lookup=True)
                )
            else:
                # Part of the pair is in Xledger: sending the pair again would post it twice,
                # leaving it as it is leaves the books unbalanced. A person must correct it.
                reason = (
                    f"Xledger stored {len(found)} of this record's {LINES_PER_RECORD} lines "
                    f"(dbId {external_id(found)}); correct or delete it in Xledger"
                )
                outcomes.append(Rejected(record.record_id, record.idempotency_key, reason, PARTIALLY_STORED))
        return absent
