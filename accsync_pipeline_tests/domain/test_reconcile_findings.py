"""A reconciliation's findings and summary in full: what an accountant reads after a sync."""

from __future__ import annotations

from accsync_pipeline.domain.reconcile import Finding, Holding, Reconciliation, reconcile
from accsync_pipeline.domain.records import ledger_keys

R1, R2, R3, P1 = (ledger_keys("acme", r) for r in ("R1", "R2", "R3", "P1"))


def test_each_kind_of_discrepancy_is_reported_once_with_its_postings_and_places() -> None:
    held = [
        Holding("accsync-acme-R1", "L1", place="journalLines"),
        # R3 sits once as a journal line and once, posted, under its document number.
        Holding("accsync-acme-r3", "L3", place="journalLines"),
        Holding("AS-R3", "E3", place="generalLedgerEntries"),
        # P1 is pending in accsync, yet the ledger holds it three times in two places.
        Holding("accsync-acme-P1", "L4", postings=2, place="journalLines"),
        Holding("ACCSYNC-ACME-P1", "E4", place="generalLedgerEntries"),
        # A key of ours that matches no record, where the ledger does not say where.
        Holding("accsync-acme-GHOST", "X1"),
    ]
    result = reconcile([R1, R2, R3], held, {"ACCSYNC-ACME-P1": ("P1", "pending")})
    assert result == Reconciliation(
        expected=3,
        held=6,
        findings=(
            Finding(
                "duplicated",
                "accsync-acme-R3",
                "R3",
                2,
                "posted 2 times (generalLedgerEntries, journalLines)",
            ),
            Finding("missing", "accsync-acme-R2", "R2", 0, "marked exported, not in the ledger"),
            Finding(
                "unknown",
                "ACCSYNC-ACME-GHOST",
                None,
                1,
                "in the ledger, but no record of this organization has this key",
            ),
            Finding(
                "unknown",
                "ACCSYNC-ACME-P1",
                "P1",
                3,
                "in the ledger, but accsync has the record as pending (generalLedgerEntries, journalLines)",
            ),
        ),
    )
    assert result.summary() == (
        "1 missing from the ledger, 1 posted more than once, 2 in the ledger without an exported record "
        "(of 3 exported records)"
    )


def test_a_record_held_once_is_no_finding_whichever_key_the_ledger_uses() -> None:
    result = reconcile([R1, R2], [Holding("ACCSYNC-ACME-R1", "L1"), Holding("as-r2", "E2")])
    assert result == Reconciliation(expected=2, held=2)
    assert result.summary() == "all 2 exported records found in the ledger exactly once"


def test_a_summary_names_only_the_kinds_found() -> None:
    duplicated = reconcile([R1], [Holding("accsync-acme-R1", "L1", postings=2)])
    assert duplicated.findings == (Finding("duplicated", "accsync-acme-R1", "R1", 2, "posted 2 times"),)
    assert duplicated.summary() == "1 posted more than once (of 1 exported records)"
    unknown = reconcile([], [Holding("accsync-acme-P1", "L1"), Holding("accsync-acme-R9", "L2")])
    assert unknown.summary() == "2 in the ledger without an exported record (of 0 exported records)"
    missing = reconcile([R1, R2], [])
    assert [f.record_id for f in missing.findings] == ["R1", "R2"]
    assert missing.summary() == "2 missing from the ledger (of 2 exported records)"


def test_holdings_of_an_unknown_key_in_several_places_add_up() -> None:
    held = [Holding("accsync-acme-P1", "L1", place="journalLines") for _ in range(3)]
    [finding] = reconcile([], held).findings
    assert (finding.postings, finding.detail) == (
        3,
        "in the ledger, but no record of this organization has this key (journalLines)",
    )
