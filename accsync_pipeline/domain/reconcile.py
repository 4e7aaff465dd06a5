"""Ledger reconciliation: what accsync says it exported against what the ledger holds of ours.

Pure comparison, no I/O. Every record accsync marked exported must stand in the ledger exactly
once by its key; nothing in the ledger may carry one of our keys without a matching exported
record. Keys are compared without regard to case (Business Central upper-cases Code fields),
and a record may be held under either of its keys (Business Central keeps the idempotency key
on journal lines and only the document number on posted entries), so its postings are summed
over both. A record sent by an older accsync may stand under its legacy keys
(`LedgerKeys.legacy_idempotency_key`), which count as its own unless another record could claim
them (`records_by_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from accsync_pipeline.domain.records import LedgerKeys, records_by_key

# What every key accsync writes starts with (see `idempotency_key` and `document_number`).
KEY_PREFIX = "accsync-"
DOCUMENT_PREFIX = "AS-"


@dataclass(frozen=True)
class Holding:
    """One key of ours as the ledger holds it: how many postings carry it, and the ledger's id."""

    key: str
    ledger_id: str
    postings: int = 1
    place: str = ""  # where the ledger keeps it, e.g. "journalLines", "generalLedgerEntries"


@dataclass(frozen=True)
class Finding:
    """One discrepancy, in the words an accountant reads."""

    kind: str  # missing | duplicated | unknown
    key: str
    record_id: str | None
    postings: int
    detail: str


@dataclass(frozen=True)
class Reconciliation:
    expected: int  # records accsync marked exported
    held: int  # keys of ours the ledger holds
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        return not self.findings

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    def summary(self) -> str:
        if self.clean:
            return f"all {self.expected} exported records found in the ledger exactly once"
        parts = [
            f"{self.count(kind)} {label}"
            for kind, label in (
                ("missing", "missing from the ledger"),
                ("duplicated", "posted more than once"),
                ("unknown", "in the ledger without an exported record"),
            )
            if self.count(kind)
        ]
        return ", ".join(parts) + f" (of {self.expected} exported records)"


def reconcile(
    exported: Iterable[LedgerKeys],
    holdings: Iterable[Holding],
    not_exported: Mapping[str, tuple[str, str]] | None = None,
    in_transit: Iterable[LedgerKeys] = (),
) -> Reconciliation:
    """Compare the exported records' keys with the ledger's holdings.

    `not_exported` maps the upper-cased keys of the org's other records to (record_id, status),
    so that a holding of a record accsync believes pending or failed names that record.
    Holdings of `in_transit` records (in flight: sent, answer not yet written) are no finding;
    the stuck-in-flight check and the next sync's lookup deal with those.
    """
    records = {keys.record_id: keys for keys in exported}
    listed = list(records.values())
    owners = records_by_key(listed) | records_by_key(listed, documents=True)
    by_key = {key: records[record_id] for key, record_id in owners.items()}
    expected = len(records)
    transit = {k.upper() for t in in_transit for k in all_keys(t)}
    postings: dict[str, int] = {}
    places: dict[str, set[str]] = {}
    unknown: dict[str, tuple[int, set[str]]] = {}
    held = 0
    for holding in holdings:
        held += 1
        key = holding.key.upper()
        match = by_key.get(key)
        if match is not None:
            postings[match.record_id] = postings.get(match.record_id, 0) + holding.postings
            places.setdefault(match.record_id, set()).add(holding.place)
        elif key not in transit:
            count, where = unknown.get(key, (0, set()))
            unknown[key] = (count + holding.postings, where | {holding.place})
    findings: list[Finding] = []
    for keys in listed:
        count = postings.get(keys.record_id, 0)
        if count == 0:
            detail = "marked exported, not in the ledger"
            findings.append(Finding("missing", keys.idempotency_key, keys.record_id, 0, detail))
        elif count > 1:
            where_text = _places(places[keys.record_id])
            findings.append(
                Finding(
                    "duplicated",
                    keys.idempotency_key,
                    keys.record_id,
                    count,
                    f"posted {count} times{where_text}",
                )
            )
    others = not_exported or {}
    for key, (count, where) in sorted(unknown.items()):
        record_id, status = others.get(key, (None, ""))
        detail = (
            f"in the ledger, but accsync has the record as {status}"
            if record_id is not None
            else "in the ledger, but no record of this organization has this key"
        )
        findings.append(Finding("unknown", key, record_id, count, detail + _places(where)))
    findings.sort(key=lambda f: (f.kind, f.key))
    return Reconciliation(expected=expected, held=held, findings=tuple(findings))


def all_keys(keys: LedgerKeys) -> tuple[str, ...]:
    """Every key a ledger may hold the record under, legacy ones included."""
    legacy = (keys.legacy_idempotency_key, keys.legacy_document_number)
    return (keys.idempotency_key, keys.document_number, *(k for k in legacy if k is not None))


def _places(places: set[str]) -> str:
    named = sorted(p for p in places if p)
    return f" ({', '.join(named)})" if named else ""
