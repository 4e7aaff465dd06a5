"""Exactly once against Business Central as it really behaves (DESIGN.md, Business Central
and "What exactly once means here"): the connector against the sandbox with every quirk on.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from decimal import Decimal

import httpx

from accsync_pipeline.connectors.base import Posted
from accsync_pipeline.connectors.dynamics_json import dumps_exact
from accsync_pipeline.connectors.dynamics_lookup import ENTRIES, LINES, LookupAnswer
from accsync_pipeline.domain.records import ExportableRecord, ledger_keys
from accsync_pipeline.sandbox.dynamics import DynamicsSandbox
from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox
from accsync_pipeline_tests.connectors.test_dynamics_connector import connector, lines_per_key
from accsync_pipeline_tests.sandbox_fixtures import make_records


def post_journal(sandbox: RunningSandbox) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/journal/post").raise_for_status()


def entries(sandbox: RunningSandbox) -> list[dict[str, object]]:
    return list(httpx.get(f"{sandbox.base_url}/_sandbox/ledger-entries").json()["entries"])


def with_id(record_id: str) -> ExportableRecord:
    return dataclasses.replace(next(make_records(1)), record_id=record_id)


def test_upper_cased_answers_match_the_keys_asked_for(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: Code fields come back upper-cased; keys are compared without regard to case."""
    records = list(make_records(30))
    bc = connector(dynamics_sandbox)
    posted = {o.record_id: o.external_id for o in bc.export(records) if isinstance(o, Posted)}
    stored = {p["externalDocumentNumber"] for p in dynamics_sandbox.postings()}
    assert not stored & {r.idempotency_key for r in records}, "the sandbox answers in another case"
    assert bc.lookup([r.ledger_keys for r in records]) == posted
    bc.close()


def test_rows_not_asked_for_in_another_case_or_malformed_are_ignored() -> None:
    """DESIGN: a lookup answer holding more, less or differently-cased data never crashes a run."""
    asked = [ledger_keys("hlf", "R1"), ledger_keys("hlf", "r2")]
    answer = LookupAnswer(asked)
    answer.add(LINES, {"id": "line-1", "externalDocumentNumber": asked[0].idempotency_key.lower()})
    answer.add(LINES, {"id": "other", "externalDocumentNumber": "ACCSYNC-HLF-R99"})
    answer.add(LINES, {"externalDocumentNumber": asked[1].idempotency_key})  # no id
    answer.add(LINES, ["not", "a", "row"])
    answer.add(ENTRIES, {"id": "e9", "entryNumber": 9, "documentNumber": asked[1].document_number.lower()})
    answer.add(ENTRIES, {"id": "e8", "entryNumber": 8, "documentNumber": asked[1].document_number})
    answer.add(ENTRIES, {"id": "bad", "entryNumber": "x", "documentNumber": asked[1].document_number})
    answer.add(ENTRIES, {"id": "e1", "entryNumber": 1, "documentNumber": "AS-UNRELATED"})
    assert answer.found() == {"R1": "line-1", "r2": "e8"}


def test_lookup_uses_eq_chains_and_never_trusts_the_whole_table(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: `in` is ignored in API v2.0 (whole table back): eq/or chains; unasked rows ignored."""
    bc = connector(dynamics_sandbox)
    list(bc.export(make_records(300)))
    asked = list(make_records(5, start=100))
    expected = {r.record_id for r in asked}
    assert set(bc.lookup([r.ledger_keys for r in asked])) == expected
    bc.close()


def test_a_lookup_after_the_journal_was_posted_still_finds_every_record(
    dynamics_sandbox: RunningSandbox,
) -> None:
    """DESIGN: posted lines leave journalLines for generalLedgerEntries; look in both."""
    records = list(make_records(150))
    bc = connector(dynamics_sandbox)
    list(bc.export(records[:100]))
    post_journal(dynamics_sandbox)
    list(bc.export(records[100:]))  # these stay in the journal
    found = bc.lookup([r.ledger_keys for r in records])
    assert set(found) == {r.record_id for r in records}
    first_entry: dict[object, object] = {}
    for entry in sorted(entries(dynamics_sandbox), key=lambda e: int(str(e["entryNumber"]))):
        first_entry.setdefault(entry["documentNumber"], entry["id"])
    assert all(found[r.record_id] == first_entry[r.document_number.upper()] for r in records[:100])
    # What the export service does before sending: nothing found is sent again.
    resend = [r for r in records if r.record_id not in found]
    assert resend == [] and set(lines_per_key(dynamics_sandbox).values()) == {1}
    bc.close()


def test_auto_posting_mid_export_with_lost_answers_posts_each_record_once(
    dynamics_sandbox: RunningSandbox,
) -> None:
    """DESIGN: an accountant posts the journal mid-sync while answers are lost: journal lines
    plus posted entries hold every record exactly once."""
    dynamics_sandbox.set_faults(
        post_journal_every=37, drop_after_commit=2, line_faults=5, line_fault_commits=True
    )
    bc = connector(dynamics_sandbox, timeout_seconds=2)
    outcomes = list(bc.export(make_records(400)))
    assert len(outcomes) == 400 and all(isinstance(o, Posted) for o in outcomes)
    per_key = lines_per_key(dynamics_sandbox)
    assert len(per_key) == 400 and set(per_key.values()) == {1}
    states = Counter(p["state"] for p in dynamics_sandbox.postings())
    assert states["posted"] >= 370
    posted_ids = {e["id"] for e in entries(dynamics_sandbox)}
    assert any(o.found_by_lookup and o.external_id in posted_ids for o in outcomes if isinstance(o, Posted))
    bc.close()


def test_more_than_five_requests_queue_rather_than_fail(sandbox_secrets: None) -> None:
    """DESIGN: 5 requests processed at once, more are queued: an export at full concurrency is
    never refused while the queue has room."""
    with running_sandbox(DynamicsSandbox(max_concurrent=2, page_size=60)) as sandbox:
        sandbox.set_faults(latency_ms=100)
        bc = connector(sandbox, max_concurrency=5)
        outcomes = list(bc.export(make_records(700)))
        assert all(isinstance(o, Posted) for o in outcomes) and len(outcomes) == 700
        stats = sandbox.stats()
        assert stats["throttled"] == 0 and stats["peak_concurrency"] == 2
        bc.close()


def test_record_ids_differing_only_in_case_post_as_two_entries(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: two records whose ids differ only in case must not share a key."""
    records = [with_id("ab"), with_id("AB")]
    bc = connector(dynamics_sandbox)
    outcomes = [o for o in bc.export(records) if isinstance(o, Posted)]
    assert len(outcomes) == 2 and len(lines_per_key(dynamics_sandbox)) == 2
    post_journal(dynamics_sandbox)
    assert len({e["documentNumber"] for e in entries(dynamics_sandbox)}) == 2
    found = bc.lookup([r.ledger_keys for r in records])
    assert set(found) == {"ab", "AB"} and found["ab"] != found["AB"]
    bc.close()


def test_connection_check_warns_about_the_no_series_it_cannot_see(sandbox_secrets: None) -> None:
    """DESIGN: the journal batch must have no No. Series; test connection says so where it can.

    The API v2.0 journal shows no No. Series, so the check warns (ok stays True) and names
    the batch to verify; the sandbox shows what renumbering does to a later lookup."""
    with running_sandbox(DynamicsSandbox(no_series="G00001")) as sandbox:
        bc = connector(sandbox)
        check = bc.test_connection()
        assert check.ok and check.warning is not None
        assert "No. Series" in check.warning and "ACCSYNC" in check.warning and check.warning in check.message
        records = list(make_records(3))
        list(bc.export(records))
        post_journal(sandbox)
        assert bc.lookup([r.ledger_keys for r in records]) == {}, "renumbered: nothing to recognise"
        bc.close()


def test_a_lookup_of_1000_records_costs_one_batch(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: needless requests cost; the export looks every record up before its first send."""
    records = list(make_records(1000))
    bc = connector(dynamics_sandbox)
    list(bc.export(records[:600]))
    post_journal(dynamics_sandbox)
    list(bc.export(records[600:800]))
    before = dynamics_sandbox.stats()["requests"]
    found = bc.lookup([r.ledger_keys for r in records])
    cost = dynamics_sandbox.stats()["requests"] - before
    assert len(found) == 800
    # 1000 keys and 1000 document numbers in URLs of at most 1,500 characters make fewer
    # than 100 GETs, one $batch; pages of 60 entries add a second round.
    assert cost <= 3, cost
    bc.close()


def test_amounts_go_as_exact_json_numbers(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: `amount` is a JSON number; money is Decimal, never rounded through float."""
    record = dataclasses.replace(next(make_records(1)), amount=Decimal("9876543210.10"))
    assert dumps_exact({"amount": Decimal("9876543210.10")}) == '{"amount":9876543210.10}'
    assert json.loads(dumps_exact([Decimal("0.10"), "x", None]), parse_float=Decimal) == [
        Decimal("0.10"),
        "x",
        None,
    ]
    bc = connector(dynamics_sandbox)
    list(bc.export([record]))
    assert dynamics_sandbox.postings()[0]["amount"] == "9876543210.10"
    bc.close()
