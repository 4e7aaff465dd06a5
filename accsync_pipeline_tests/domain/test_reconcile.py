"""Reconciliation compares plain values: exported records' keys against the ledger's holdings."""

from __future__ import annotations

from accsync_pipeline.domain.reconcile import Holding, Reconciliation, reconcile
from accsync_pipeline.domain.records import LedgerKeys, ledger_keys


def keys(*record_ids: str) -> list[LedgerKeys]:
    return [ledger_keys("acme", r) for r in record_ids]


def kinds(result: Reconciliation) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in result.findings:
        found.setdefault(f.kind, set()).add(f.record_id or f.key)
    return found


def test_every_exported_record_held_once_is_clean() -> None:
    exported = keys("R1", "R2")
    # Business Central: one still a journal line (external key), one posted (document number only).
    held = [Holding(exported[0].idempotency_key, "1"), Holding(exported[1].document_number, "2")]
    result = reconcile(exported, held)
    assert result.clean and result.expected == 2 and result.held == 2


def test_keys_compare_without_regard_to_case() -> None:
    exported = keys("R1")
    result = reconcile(exported, [Holding(exported[0].idempotency_key.upper(), "1")])
    assert result.clean


def test_a_record_missing_from_the_ledger_is_named() -> None:
    exported = keys("R1", "R2")
    result = reconcile(exported, [Holding(exported[0].idempotency_key, "1")])
    assert kinds(result) == {"missing": {"R2"}}
    assert "missing from the ledger" in result.summary()


def test_a_record_posted_twice_is_duplicated_also_across_journal_and_posted_entries() -> None:
    exported = keys("R1", "R2")
    held = [
        Holding(exported[0].idempotency_key, "1", postings=2),
        Holding(exported[1].idempotency_key.upper(), "2", place="journalLines"),
        Holding(exported[1].document_number, "3", place="generalLedgerEntries"),
    ]
    result = reconcile(exported, held)
    assert kinds(result) == {"duplicated": {"R1", "R2"}}
    r2 = next(f for f in result.findings if f.record_id == "R2")
    assert r2.postings == 2 and "generalLedgerEntries" in r2.detail and "journalLines" in r2.detail


def test_a_key_of_ours_without_an_exported_record_is_unknown_and_names_a_record_we_hold_otherwise() -> None:
    exported = keys("R1")
    pending = ledger_keys("acme", "P1")
    held = [
        Holding(exported[0].idempotency_key, "1"),
        Holding(pending.idempotency_key, "2"),
        Holding("accsync-acme-GHOST", "3"),
    ]
    result = reconcile(exported, held, {pending.idempotency_key.upper(): ("P1", "pending")})
    assert kinds(result) == {"unknown": {"P1", "ACCSYNC-ACME-GHOST"}}
    p1 = next(f for f in result.findings if f.record_id == "P1")
    assert "pending" in p1.detail
    assert result.count("unknown") == 2 and not result.clean


def test_nothing_exported_and_nothing_held_is_clean() -> None:
    assert reconcile([], []).clean


def test_a_holding_of_a_record_still_in_flight_is_no_finding() -> None:
    in_flight = ledger_keys("acme", "F1")
    result = reconcile([], [Holding(in_flight.idempotency_key, "1")], in_transit=[in_flight])
    assert result.clean and result.held == 1


def test_a_record_sent_under_its_legacy_keys_by_an_older_accsync_is_held_not_missing() -> None:
    # Ids with lower-case letters were keyed `accsync-{org}-{id}` / `AS-{id}` before keys were made
    # unique under upper-casing; what an older accsync posted stands in the ledger under those.
    line, posted = ledger_keys("acme", "r1"), ledger_keys("acme", "r2")
    assert line.legacy_idempotency_key is not None and posted.legacy_document_number is not None
    held = [
        Holding(line.legacy_idempotency_key.upper(), "1", place="journalLines"),
        Holding(posted.legacy_document_number.upper(), "2", place="generalLedgerEntries"),
    ]
    result = reconcile([line, posted], held)
    assert result.clean, result.findings


def test_a_record_held_under_both_its_legacy_and_current_key_is_duplicated() -> None:
    record = ledger_keys("acme", "r1")
    assert record.legacy_idempotency_key is not None
    held = [Holding(record.legacy_idempotency_key, "1"), Holding(record.idempotency_key, "2")]
    result = reconcile([record], held)
    assert kinds(result) == {"duplicated": {"r1"}}


def test_a_legacy_key_that_is_another_records_current_key_belongs_to_that_record() -> None:
    # `r1`'s legacy key, upper-cased, is `R1`'s current key: a line under it is `R1`'s, never proof for `r1`.
    lower, upper = ledger_keys("acme", "r1"), ledger_keys("acme", "R1")
    assert lower.legacy_idempotency_key is not None
    assert lower.legacy_idempotency_key.upper() == upper.idempotency_key.upper()
    result = reconcile([lower, upper], [Holding(upper.idempotency_key.upper(), "1")])
    assert kinds(result) == {"missing": {"r1"}}


def test_legacy_keys_of_a_record_in_transit_are_no_finding() -> None:
    record = ledger_keys("acme", "r9")
    assert record.legacy_idempotency_key is not None
    result = reconcile([], [Holding(record.legacy_idempotency_key, "1")], in_transit=[record])
    assert result.clean
