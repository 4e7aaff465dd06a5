"""The Xledger connector against each awkward part of Xledger's contract (DESIGN "Wire contracts").

Each test names the DESIGN point it guards; the sandbox test of the same quirk shows it in
raw HTTP (accsync_pipeline_tests/sandbox/test_xledger_sandbox.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from accsync_pipeline.connectors.base import Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.settings import XledgerSettings
from accsync_pipeline.connectors.xledger import MAX_MUTATIONS_PER_CHUNK, PARTIALLY_STORED, XledgerConnector
from accsync_pipeline.domain.records import ExportableRecord
from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN, XledgerSandbox
from accsync_pipeline_tests.sandbox_fixtures import FAST_RETRY, make_records, xledger_settings


def connector(sandbox: RunningSandbox, **overrides: Any) -> XledgerConnector:
    return XledgerConnector(
        XledgerSettings.model_validate(xledger_settings(sandbox, **overrides)), retry=FAST_RETRY
    )


def lines_per_key(sandbox: RunningSandbox) -> Counter[str]:
    return Counter(line["extIdentifier"] for line in sandbox.postings())


def mutations(sandbox: RunningSandbox) -> int:
    return int(sandbox.stats()["postings_requests"])


def assert_exactly_once(
    sandbox: RunningSandbox, outcomes: list[Outcome], posted: list[ExportableRecord]
) -> None:
    """Every record in `posted` is one balanced pair in the ledger and reported Posted with its id."""
    by_record = {o.record_id: o for o in outcomes}
    assert len(by_record) == len(outcomes), "one outcome per record"
    per_key = lines_per_key(sandbox)
    ids: dict[str, list[int]] = {line["extIdentifier"]: [] for line in sandbox.postings()}
    for line in sandbox.postings():
        ids[line["extIdentifier"]].append(line["dbId"])
    for record in posted:
        assert per_key[record.idempotency_key] == 2, f"{record.record_id} is in the ledger exactly once"
        outcome = by_record[record.record_id]
        assert isinstance(outcome, Posted)
        assert outcome.external_id == str(min(ids[record.idempotency_key])), "smaller dbId of the pair"


# -- DESIGN: mass mutations may not be atomic, and errors may not name the bad inputs ---------

QUIRK_MODES = {
    "partial-commit-unnamed (default)": {},
    "partial-commit-named": {"name_bad_inputs": True},
    "partial-commit-partial-data": {"partial_data": True},
    "partial-commit-partial-data-named": {"partial_data": True, "name_bad_inputs": True},
    "atomic-named": {"partial_commit": False, "name_bad_inputs": True},
    "atomic-unnamed": {"partial_commit": False},
}


@pytest.mark.parametrize("mode", list(QUIRK_MODES.values()), ids=list(QUIRK_MODES))
def test_errored_mass_mutation_posts_every_valid_record_exactly_once(
    xledger_sandbox: RunningSandbox, mode: dict[str, Any]
) -> None:
    """DESIGN, unverified atomicity: after any mutation answer with errors, look up before resending.

    The invalid records are Rejected with Xledger's own message and code, in every mode.
    """
    records = list(make_records(300))
    bad = {records[i].idempotency_key: "INVALID_VALUE" for i in (3, 7, 260)}
    xledger_sandbox.set_faults(reject_keys=bad, **mode)
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(records))
    rejected = {o.idempotency_key: o for o in outcomes if isinstance(o, Rejected)}
    assert set(rejected) == set(bad)
    assert all(o.reason == "Invalid value for field account" for o in rejected.values())
    assert all(o.code == "INVALID_VALUE" for o in rejected.values())
    assert_exactly_once(xledger_sandbox, outcomes, [r for r in records if r.idempotency_key not in bad])
    assert not set(bad) & set(lines_per_key(xledger_sandbox))
    assert len(outcomes) == 300
    xledger.close()


def test_partial_commit_with_named_errors_costs_one_lookup_not_a_resend(
    xledger_sandbox: RunningSandbox,
) -> None:
    """DESIGN: inputs not named invalid may have been stored: look them up, resend only the missing."""
    records = list(make_records(10))
    xledger_sandbox.set_faults(
        reject_keys={records[4].idempotency_key: "INVALID_VALUE"}, name_bad_inputs=True
    )
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(records))
    assert mutations(xledger_sandbox) == 1, "the nine valid records were stored: nothing to resend"
    assert sum(isinstance(o, Posted) and o.found_by_lookup for o in outcomes) == 9
    xledger.close()


def test_a_record_stored_only_in_part_is_rejected_not_posted_again(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN, unverified atomicity: the credit line of a record whose debit line is invalid is stored."""
    records = list(make_records(4))
    records[1] = dataclasses.replace(records[1], expense_account="68-00")
    xledger = connector(xledger_sandbox)
    outcomes = {o.record_id: o for o in xledger.export(records)}
    half = outcomes[records[1].record_id]
    assert isinstance(half, Rejected) and half.code == PARTIALLY_STORED
    assert lines_per_key(xledger_sandbox)[records[1].idempotency_key] == 1, "never sent again"
    assert_exactly_once(xledger_sandbox, list(outcomes.values()), [records[0], *records[2:]])
    xledger.close()


def test_unnamed_errors_that_never_clear_end_within_a_bounded_number_of_mutations(
    xledger_sandbox: RunningSandbox,
) -> None:
    """DESIGN: errors that name no input: never loop forever, never post anything twice."""
    records = list(make_records(60))
    xledger_sandbox.set_faults(
        partial_commit=False, reject_keys={r.idempotency_key: "INVALID_VALUE" for r in records}
    )
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(records))
    assert len(outcomes) == 60 and xledger_sandbox.postings() == []
    assert mutations(xledger_sandbox) == MAX_MUTATIONS_PER_CHUNK
    kinds = Counter(type(o) for o in outcomes)
    assert kinds[Rejected] > 0 and kinds[TransientFailure] > 0 and kinds[Posted] == 0
    xledger.close()


# -- DESIGN: "Your query timed out." with no code is an ambiguous outcome -----------------------


def test_timeout_after_commit_posts_exactly_once(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: "Your query timed out." on a mutation may have been stored: look up, never fatal."""
    records = list(make_records(600))
    xledger_sandbox.set_faults(timeout_after_commit=2)
    # One mutation at a time, so that the two timed out are the first two chunks of 250.
    xledger = connector(xledger_sandbox, max_concurrency=1)
    outcomes = list(xledger.export(records))
    assert_exactly_once(xledger_sandbox, outcomes, records)
    assert sum(isinstance(o, Posted) and o.found_by_lookup for o in outcomes) == 500
    assert mutations(xledger_sandbox) == 3, "what the lookup found is never sent again"
    xledger.close()


def test_timeout_on_a_read_is_retried(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: "Your query timed out." on a read: retriable."""
    records = list(make_records(3))
    xledger = connector(xledger_sandbox)
    list(xledger.export(records))
    answers = iter([{"data": None, "errors": [{"message": "Your query timed out."}]}])
    with proxied(xledger_sandbox, lambda body: next(answers, None)) as proxy:
        assert len(proxy.lookup([r.ledger_keys for r in records])) == 3
    xledger.close()


# -- DESIGN: paging by the last edge's cursor; lookups cheap, case-insensitive, forgiving -------


def test_lookup_pages_by_the_last_edge_cursor_without_end_cursor(sandbox_secrets: None) -> None:
    """DESIGN: every edge carries a cursor; `pageInfo.endCursor` is unverified."""
    with running_sandbox(XledgerSandbox(burst=1000, burst_per_second=1000, max_page_size=70)) as sandbox:
        records = list(make_records(300))
        xledger = connector(sandbox)
        outcomes = list(xledger.export(records))
        before = sandbox.stats()["requests"]
        found = xledger.lookup([r.ledger_keys for r in records])
        assert found == {o.record_id: o.external_id for o in outcomes if isinstance(o, Posted)}
        assert len(found) == 300
        assert sandbox.stats()["requests"] - before == 9, "603 lines in pages of 70"
        xledger.close()


@pytest.mark.parametrize(("window", "requests"), [(1000, 1), (2500, 1), (5000, 2)])
def test_lookup_of_a_large_window_takes_few_requests(
    xledger_sandbox: RunningSandbox, window: int, requests: int
) -> None:
    """DESIGN: Xledger bills requests; at most 10,000 records per query."""
    records = list(make_records(window))
    xledger = connector(xledger_sandbox)
    list(xledger.export(records[:100]))
    before = xledger_sandbox.stats()["requests"]
    assert len(xledger.lookup([r.ledger_keys for r in records])) == 100
    assert xledger_sandbox.stats()["requests"] - before == requests
    xledger.close()


def test_lookup_matches_keys_without_case_and_ignores_keys_not_asked_for(
    xledger_sandbox: RunningSandbox,
) -> None:
    """DESIGN: a lookup answer with more or differently-cased keys than asked never crashes a run."""
    records = list(make_records(5))
    xledger = connector(xledger_sandbox)
    list(xledger.export(records[:3]))
    # Another system stored a line under the upper-cased key of record 3.
    raw_line(xledger_sandbox, records[3].idempotency_key.upper())
    found = xledger.lookup([r.ledger_keys for r in records[1:]])
    assert set(found) == {records[1].record_id, records[2].record_id, records[3].record_id}
    assert records[0].record_id not in found, "answered as an unrelated item, never asked for"
    xledger.close()


def test_odd_lookup_answers_do_not_crash(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: whatever else the ledger answers is ignored, never a crash."""
    records = list(make_records(2))
    key = records[0].idempotency_key.lower()
    page = {
        "data": {
            "glImportItems": {
                "edges": [
                    None,
                    {"cursor": "a"},
                    {"cursor": "b", "node": {"dbId": "x", "extIdentifier": key}},
                    {"cursor": "c", "node": {"dbId": "12", "extIdentifier": key, "amount": None}},
                    {"cursor": "d", "node": {"dbId": 9, "extIdentifier": 5}},
                    {"cursor": "e", "node": {"dbId": 11, "extIdentifier": "not-asked", "amount": "1"}},
                ],
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            }
        }
    }
    xledger = connector(xledger_sandbox)
    with proxied(xledger_sandbox, lambda body: page) as proxy:
        assert proxy.lookup([r.ledger_keys for r in records]) == {records[0].record_id: "12"}
    xledger.close()


# -- helpers -----------------------------------------------------------------------------------


def raw_line(sandbox: RunningSandbox, key: str) -> None:
    node = {"extIdentifier": key, "postedDate": "2025-03-03", "account": {"code": "6800"}, "amount": "1.00"}
    response = httpx.post(
        f"{sandbox.base_url}/graphql",
        json={
            "query": "mutation($i: [AddGLImportItemsInput!]!) "
            "{ addGLImportItems(inputs: $i) { edges { clientId } } }",
            "variables": {"i": [{"clientId": "x", "node": node}]},
        },
        headers={"Authorization": f"token {DEFAULT_TOKEN}"},
    )
    assert "errors" not in response.json()


class proxied:  # a context manager, named like the function it stands in for
    """A connector whose requests reach the sandbox unless `answer(body)` gives a canned answer."""

    def __init__(
        self, sandbox: RunningSandbox, answer: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> None:
        self._sandbox = sandbox
        self._answer = answer
        self._upstream = httpx.Client(base_url=sandbox.base_url)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        canned = self._answer(body)
        if canned is not None:
            return httpx.Response(200, json=canned)
        upstream = self._upstream.post(
            request.url.path, content=request.content, headers=dict(request.headers)
        )
        return httpx.Response(upstream.status_code, content=upstream.content, headers=upstream.headers)

    def __enter__(self) -> XledgerConnector:
        self._connector = XledgerConnector(
            XledgerSettings.model_validate(xledger_settings(self._sandbox)),
            retry=FAST_RETRY,
            transport=httpx.MockTransport(self._handle),
        )
        return self._connector

    def __exit__(self, *exc: object) -> None:
        self._connector.close()
        self._upstream.close()
