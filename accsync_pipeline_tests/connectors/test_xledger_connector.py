"""The Xledger connector against the Xledger sandbox, over a real socket."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from accsync_pipeline.connectors.base import Outcome, Posted, Rejected
from accsync_pipeline.connectors.errors import AuthenticationError, RetriableError
from accsync_pipeline.connectors.settings import XledgerSettings
from accsync_pipeline.connectors.xledger import RECORDS_PER_MUTATION, XledgerConnector
from accsync_pipeline.domain.records import ExportableRecord, idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline_tests.sandbox_fixtures import FAST_RETRY, make_records, xledger_settings


def connector(sandbox: RunningSandbox, **overrides: Any) -> XledgerConnector:
    return XledgerConnector(
        XledgerSettings.model_validate(xledger_settings(sandbox, **overrides)), retry=FAST_RETRY
    )


def lines_per_key(sandbox: RunningSandbox) -> Counter[str]:
    return Counter(line["extIdentifier"] for line in sandbox.postings())


def assert_each_posted_once(sandbox: RunningSandbox, outcomes: list[Outcome], count: int) -> None:
    assert len(outcomes) == count
    assert all(isinstance(o, Posted) for o in outcomes)
    assert len({o.record_id for o in outcomes}) == count
    per_key = lines_per_key(sandbox)
    assert len(per_key) == count
    assert set(per_key.values()) == {2}, "every record is one balanced pair, posted once"


def test_posts_each_record_as_one_balanced_pair(xledger_sandbox: RunningSandbox) -> None:
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(make_records(600)))
    assert_each_posted_once(xledger_sandbox, outcomes, 600)
    # 600 records fill two mutations of 500 inputs and one of 200.
    assert xledger_sandbox.stats()["postings_requests"] == 3
    lines = xledger_sandbox.postings()
    first_key = next(make_records(1)).idempotency_key
    first = [line for line in lines if line["extIdentifier"] == first_key]
    assert sorted(line["amount"] for line in first) == ["-125.50", "125.50"]
    assert {line["account"]["code"] for line in first} == {"6800", "2930"}
    assert first[0]["postedDate"] == "2025-03-03", "approval at 23:30 UTC is the next day in Oslo"
    by_record = {o.record_id: o.external_id for o in outcomes if isinstance(o, Posted)}
    assert xledger.lookup([record.ledger_keys for record in make_records(600)]) == by_record
    xledger.close()


def test_export_reads_records_lazily(xledger_sandbox: RunningSandbox) -> None:
    consumed = 0

    def counting() -> Iterator[ExportableRecord]:
        nonlocal consumed
        for record in make_records(5000):
            consumed += 1
            yield record

    xledger = connector(xledger_sandbox, max_concurrency=2)
    outcomes = xledger.export(counting())
    next(outcomes)
    assert consumed <= 3 * RECORDS_PER_MUTATION
    assert len(list(outcomes)) == 4999
    assert xledger_sandbox.stats()["peak_concurrency"] <= 2
    xledger.close()


@pytest.mark.parametrize(
    "faults",
    [
        {"resets": 2},
        {"drop_after_commit": 2},
        {"stall_after_commit": 1, "stall_ms": 1500},
        {"server_errors": 2, "server_error_status": 502},
        {"throttle": 1},
    ],
    ids=["reset", "drop-after-commit", "timeout-after-commit", "5xx", "throttle"],
)
def test_faults_leave_every_record_posted_exactly_once(
    xledger_sandbox: RunningSandbox, faults: dict[str, Any]
) -> None:
    xledger_sandbox.set_faults(**faults)
    xledger = connector(xledger_sandbox, timeout_seconds=0.75)
    outcomes = list(xledger.export(make_records(700)))
    assert_each_posted_once(xledger_sandbox, outcomes, 700)
    if "drop_after_commit" in faults or "stall_after_commit" in faults:
        assert any(isinstance(o, Posted) and o.found_by_lookup for o in outcomes)
    xledger.close()


def test_invalid_inputs_are_rejected_and_the_rest_posted_once(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: after a mutation answer with errors, look up before sending again (sandbox defaults)."""
    bad = {idempotency_key("hlf", rid): "INVALID_VALUE" for rid in ("r3", "r260")}
    xledger_sandbox.set_faults(reject_keys=bad)
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(make_records(300)))
    rejected = {o.idempotency_key: o for o in outcomes if isinstance(o, Rejected)}
    assert set(rejected) == set(bad)
    assert all(o.code == "INVALID_VALUE" and "account" in o.reason for o in rejected.values())
    per_key = lines_per_key(xledger_sandbox)
    assert len(per_key) == 298 and set(per_key.values()) == {2}
    assert not set(bad) & set(per_key)
    xledger.close()


def test_persistent_server_errors_raise_retriable_and_a_rerun_posts_once(
    xledger_sandbox: RunningSandbox,
) -> None:
    xledger_sandbox.set_faults(server_errors=100)
    xledger = connector(xledger_sandbox)
    with pytest.raises(RetriableError):
        list(xledger.export(make_records(10)))
    assert xledger_sandbox.postings() == []
    xledger_sandbox.set_faults(server_errors=0)
    assert_each_posted_once(xledger_sandbox, list(xledger.export(make_records(10))), 10)
    xledger.close()


def test_every_answer_lost_still_posts_once(xledger_sandbox: RunningSandbox) -> None:
    xledger_sandbox.set_faults(drop_after_commit=100)
    xledger = connector(xledger_sandbox)
    outcomes = list(xledger.export(make_records(10)))
    assert_each_posted_once(xledger_sandbox, outcomes, 10)
    assert all(isinstance(o, Posted) and o.found_by_lookup for o in outcomes)
    xledger.close()


def test_bad_token_fails_the_connection_check_and_the_export(
    xledger_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCSYNC_TEST_XLEDGER_TOKEN", "not-the-token")
    xledger = connector(xledger_sandbox)
    check = xledger.test_connection()
    assert not check.ok and "bad format for api token" in check.message
    assert "not-the-token" not in check.message
    with pytest.raises(AuthenticationError):
        list(xledger.export(make_records(3)))
    assert xledger_sandbox.postings() == []
    xledger.close()
