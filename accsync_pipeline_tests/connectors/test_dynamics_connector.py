"""The Business Central connector against the Business Central sandbox, over a real socket."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from accsync_pipeline.connectors.base import Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.dynamics import DynamicsConnector
from accsync_pipeline.connectors.errors import AuthenticationError, ConfigurationError, RetriableError
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.connectors.settings import DynamicsSettings
from accsync_pipeline.sandbox.dynamics import DynamicsSandbox
from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox
from accsync_pipeline_tests.sandbox_fixtures import FAST_RETRY, dynamics_settings, make_records

UNKNOWN_ID = "11111111-2222-3333-4444-555555555555"


def connector(sandbox: RunningSandbox, **overrides: Any) -> DynamicsConnector:
    return DynamicsConnector(
        DynamicsSettings.model_validate(dynamics_settings(sandbox, **overrides)), retry=FAST_RETRY
    )


def lines_per_key(sandbox: RunningSandbox) -> Counter[str]:
    """How often each key stands in the ledger: journal lines plus lines posted into G/L entries."""
    return Counter(line["externalDocumentNumber"] for line in sandbox.postings())


def assert_each_posted_once(sandbox: RunningSandbox, outcomes: list[Outcome], count: int) -> None:
    assert len(outcomes) == count
    assert all(isinstance(o, Posted) for o in outcomes), [o for o in outcomes if not isinstance(o, Posted)][
        :3
    ]
    per_key = lines_per_key(sandbox)
    assert len(per_key) == count and set(per_key.values()) == {1}


def test_posts_one_journal_line_per_record_in_full_batches(dynamics_sandbox: RunningSandbox) -> None:
    bc = connector(dynamics_sandbox)
    outcomes = list(bc.export(make_records(250)))
    assert_each_posted_once(dynamics_sandbox, outcomes, 250)
    stats = dynamics_sandbox.stats()
    assert stats["postings_requests"] == 3 and stats["peak_concurrency"] <= 5
    assert len(dynamics_sandbox.sandbox.tokens) == 1, "one token, cached across batches"
    record = next(r for r in make_records(2) if r.record_id == "r1")
    line = next(
        p
        for p in dynamics_sandbox.postings()
        if p["externalDocumentNumber"] == record.idempotency_key.upper()
    )
    assert line["amount"] == "126.50" and line["balancingAccountNumber"] == "10001"
    assert line["documentNumber"] == record.document_number.upper() and line["postingDate"] == "2025-03-03"
    by_record = {o.record_id: o.external_id for o in outcomes if isinstance(o, Posted)}
    assert bc.lookup([r.ledger_keys for r in make_records(250)]) == by_record, (
        "lookup pages through 60-line pages"
    )
    bc.close()


@pytest.mark.parametrize(
    "faults",
    [
        {"resets": 2},
        {"drop_after_commit": 2},
        {"stall_after_commit": 1, "stall_ms": 1500},
        {"server_errors": 2, "server_error_status": 503},
        {"server_errors": 1, "server_error_status": 504},
        {"throttle": 2, "throttle_retry_after": 0},
        {"line_faults": 7, "line_fault_status": 504, "line_fault_commits": True},
        {"line_faults": 7, "line_fault_status": 503, "line_fault_commits": False},
    ],
    ids=[
        "reset",
        "drop-after-commit",
        "timeout",
        "503",
        "504",
        "429",
        "line-504-stored",
        "line-503-unstored",
    ],
)
def test_faults_leave_every_record_posted_exactly_once(
    dynamics_sandbox: RunningSandbox, faults: dict[str, Any]
) -> None:
    dynamics_sandbox.set_faults(**faults)
    bc = connector(dynamics_sandbox, timeout_seconds=0.75)
    outcomes = list(bc.export(make_records(230)))
    assert_each_posted_once(dynamics_sandbox, outcomes, 230)
    if "drop_after_commit" in faults or faults.get("line_fault_commits"):
        assert any(isinstance(o, Posted) and o.found_by_lookup for o in outcomes)
    bc.close()


def test_refused_lines_fail_alone(dynamics_sandbox: RunningSandbox) -> None:
    key = next(r for r in make_records(20) if r.record_id == "r5").idempotency_key
    dynamics_sandbox.set_faults(reject_keys={key: "Application_FieldValidationException"})
    outcomes = list(connector(dynamics_sandbox).export(make_records(20)))
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    assert [(o.idempotency_key, o.code) for o in rejected] == [(key, "Application_FieldValidationException")]
    assert len(lines_per_key(dynamics_sandbox)) == 19


def test_lines_failing_beyond_the_budget_become_transient_failures(dynamics_sandbox: RunningSandbox) -> None:
    dynamics_sandbox.set_faults(line_faults=1000, line_fault_status=503, line_fault_commits=False)
    outcomes = list(connector(dynamics_sandbox).export(make_records(3)))
    assert {type(o) for o in outcomes} == {TransientFailure}
    assert dynamics_sandbox.postings() == []


def test_persistent_throttling_raises_retriable(dynamics_sandbox: RunningSandbox) -> None:
    dynamics_sandbox.set_faults(throttle=100, throttle_retry_after=60)
    with pytest.raises(RetriableError) as raised:
        list(connector(dynamics_sandbox).export(make_records(3)))
    assert raised.value.retry_after == 60


def test_revoked_and_expired_tokens_are_replaced(dynamics_sandbox: RunningSandbox) -> None:
    bc = connector(dynamics_sandbox)
    list(bc.export(make_records(5)))
    dynamics_sandbox.sandbox.tokens.clear()  # revoked on the server's side
    list(bc.export(make_records(5, start=5)))
    assert len(lines_per_key(dynamics_sandbox)) == 10
    bc.close()


def test_a_token_is_refreshed_before_it_expires(sandbox_secrets: None) -> None:
    with running_sandbox(DynamicsSandbox(token_lifetime_seconds=1)) as sandbox:
        bc = connector(sandbox)
        list(bc.export(make_records(5)))
        time.sleep(1.0)
        list(bc.export(make_records(5, start=5)))
        assert len(sandbox.sandbox.tokens) == 2
        assert sandbox.stats()["requests"] == 2, "no request was refused for an expired token"
        bc.close()


def test_bad_secret_fails_the_check_and_the_export(
    dynamics_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCSYNC_TEST_DYNAMICS_SECRET", "wrong-secret")
    bc = connector(dynamics_sandbox)
    check = bc.test_connection()
    assert not check.ok and "client_id/secret" in check.message and "wrong-secret" not in check.message
    with pytest.raises(AuthenticationError):
        list(bc.export(make_records(2)))
    assert dynamics_sandbox.postings() == []


@pytest.mark.parametrize("which", ["company_id", "journal_id"])
def test_unknown_company_or_journal(dynamics_sandbox: RunningSandbox, which: str) -> None:
    bc = connector(dynamics_sandbox, **{which: UNKNOWN_ID})
    check = bc.test_connection()
    assert not check.ok and "no such company, journal" in check.message
    with pytest.raises(ConfigurationError):
        list(bc.export(make_records(2)))


def test_connection_check_passes(dynamics_sandbox: RunningSandbox) -> None:
    check = connector(dynamics_sandbox).test_connection()
    assert check.ok, check.message


def test_missing_secret_variable_is_named(
    dynamics_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCSYNC_TEST_DYNAMICS_SECRET")
    with pytest.raises(ConfigurationError, match="ACCSYNC_TEST_DYNAMICS_SECRET"):
        connector_for("dynamics", dynamics_settings(dynamics_sandbox))
