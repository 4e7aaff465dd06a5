"""Approved records as the source app gives them, and what accsync derives from them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

V = TypeVar("V")

ORG_ID_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")

# Business Central limits: externalDocumentNumber <= 35 chars, documentNumber <= 20 chars.
MAX_IDEMPOTENCY_KEY_LENGTH = 35
MAX_DOCUMENT_NUMBER_LENGTH = 20


class RecordType(StrEnum):
    REIMBURSEMENT = "reimbursement"
    HONORARIUM = "honorarium"


class SyncStatus(StrEnum):
    """Where one record stands. A crash leaves every record in exactly one of these."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    EXPORTED = "exported"
    FAILED = "failed"
    SKIPPED = "skipped"


class AttemptOutcome(StrEnum):
    """One attempt's entry in the attempt log (`sync_attempts.outcome`)."""

    EXPORTED = "exported"
    # Exported by an earlier attempt whose answer was lost, proved by the idempotency lookup.
    RECOVERED = "recovered"
    FAILED = "failed"
    SKIPPED = "skipped"


class Trigger(StrEnum):
    """What launched a sync run (the `accsync/trigger` tag)."""

    SCHEDULE = "schedule"
    APPROVAL = "approval"
    MANUAL = "manual"
    RETRY = "retry"
    AUTO_RETRY = "auto_retry"


@dataclass(frozen=True)
class ApprovedRecord:
    """One row of the source contract's `approved_records`, parsed."""

    record_id: str
    org_id: str
    record_type: str
    person_id: str
    person_name: str
    employee_number: str | None
    amount: Decimal
    currency: str
    expense_account: str | None
    description: str
    expense_date: date
    approved_at: datetime
    approved_by: str
    updated_at: datetime
    # Set when the source amount could not be read as a number (then `amount` is 0): the skip reason.
    amount_unreadable: str | None = None


class computed_once(Generic[V]):
    """`functools.cached_property` without its lock (Python 3.11 takes one lock per property, for
    every instance): an export computes keys on its lookup thread while its sending thread reads
    them, and they queued on that lock. Two threads computing a deterministic value at once both
    get the same one, so no lock is needed."""

    def __init__(self, compute: Callable[[Any], V]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: type | None = None) -> V:
        if instance is None:
            return self  # type: ignore[return-value]
        value = self._compute(instance)
        # Stored under the same name: the instance's own attribute answers every later read.
        instance.__dict__[self._name] = value
        return value


@dataclass(frozen=True)
class ExportableRecord:
    """A record that passed validation: every field an accounting system needs is present."""

    record_id: str
    org_id: str
    record_type: RecordType
    employee_number: str
    amount: Decimal
    currency: str
    expense_account: str
    description: str
    expense_date: date
    approved_at: datetime
    # Whether an older accsync could have sent it under its legacy keys
    # (`domain.legacy_keys.may_hold_legacy_keys`): then its lookups ask for them too. True
    # unless the export knows better, so that a record built without the rule is never missed.
    may_hold_legacy_keys: bool = True

    # Computed once per record: a connector reads them several times per send, and a hashed
    # key costs a digest each time.
    @computed_once
    def idempotency_key(self) -> str:
        return idempotency_key(self.org_id, self.record_id)

    @computed_once
    def document_number(self) -> str:
        return document_number(self.record_id)

    @computed_once
    def ledger_keys(self) -> LedgerKeys:
        if not self.may_hold_legacy_keys:
            return LedgerKeys(self.record_id, self.idempotency_key, self.document_number)
        return _with_legacy(self.org_id, self.record_id, self.idempotency_key, self.document_number)


@dataclass(frozen=True)
class LedgerKeys:
    """Everything a ledger may know a record by: what a lookup asks for.

    Business Central keeps `idempotency_key` as `externalDocumentNumber` on journal lines
    and `document_number` on posted general ledger entries, both upper-cased (Code fields);
    Xledger keeps `idempotency_key` as `extIdentifier`.

    The legacy keys are those an older accsync sent for the record, before keys were made
    unique under upper-casing (`legacy_idempotency_key`); None where they are the current
    ones, or where no older accsync can have sent the record (`domain.legacy_keys`). A record
    sent by an older accsync, or in flight across that upgrade, may stand in the ledger under them.
    """

    record_id: str
    idempotency_key: str
    document_number: str
    legacy_idempotency_key: str | None = None
    legacy_document_number: str | None = None


def ledger_keys(org_id: str, record_id: str, *, legacy: bool = True) -> LedgerKeys:
    """The record's keys; its legacy keys too unless `legacy` is False (see `domain.legacy_keys`)."""
    key, document = idempotency_key(org_id, record_id), document_number(record_id)
    return _with_legacy(org_id, record_id, key, document) if legacy else LedgerKeys(record_id, key, document)


def _with_legacy(org_id: str, record_id: str, key: str, document: str) -> LedgerKeys:
    legacy_key, legacy_document = legacy_idempotency_key(org_id, record_id), legacy_document_number(record_id)
    return LedgerKeys(
        record_id,
        key,
        document,
        legacy_key if legacy_key != key else None,
        legacy_document if legacy_document != document else None,
    )


def records_by_key(records: Sequence[LedgerKeys], *, documents: bool = False) -> dict[str, str]:
    """record_id of each record by its upper-cased key (or document number), as a ledger may hold it.

    Current keys are unique under upper-casing. A legacy key is also listed unless it is
    ambiguous here: equal, without regard to case, to a current key or to another record's
    legacy key among `records` (then a ledger entry under it could be either record's).
    """
    current = {(r.document_number if documents else r.idempotency_key).upper(): r.record_id for r in records}
    legacy: dict[str, str | None] = {}
    for record in records:
        key = record.legacy_document_number if documents else record.legacy_idempotency_key
        if key is None or key.upper() in current:
            continue
        owner = legacy.setdefault(key.upper(), record.record_id)
        if owner != record.record_id:
            legacy[key.upper()] = None
    return current | {key: owner for key, owner in legacy.items() if owner is not None}


def _digest(text: str, length: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length].upper()


def _survives_upper_casing(record_id: str) -> bool:
    """True when upper-casing cannot make this id equal to another one.

    Business Central stores Code fields upper-cased, so `r1` and `R1` would share a key.
    Ids that are already upper-case ASCII are kept readable; any other id is hashed.
    """
    return record_id.isascii() and record_id == record_id.upper()


def idempotency_key(org_id: str, record_id: str) -> str:
    """Deterministic key sent with every posting so that a retry can look it up.

    `accsync-{org}-{record_id}` when it fits Business Central's 35 characters and stays
    unique under upper-casing; otherwise a stable hash of both. Keys are unique even when
    compared without regard to case: org ids have no hyphen, so a readable key always has a
    second hyphen and a hashed one (upper-case hex) never has.
    """
    plain = f"accsync-{org_id}-{record_id}"
    if len(plain) <= MAX_IDEMPOTENCY_KEY_LENGTH and _survives_upper_casing(record_id):
        return plain
    return "accsync-" + _digest(f"{org_id}/{record_id}", MAX_IDEMPOTENCY_KEY_LENGTH - 8)


def legacy_idempotency_key(org_id: str, record_id: str) -> str:
    """The key accsync sent before keys were made unique under upper-casing: readable whenever it fit."""
    plain = f"accsync-{org_id}-{record_id}"
    if len(plain) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        return plain
    return "accsync-" + _digest(f"{org_id}/{record_id}", MAX_IDEMPOTENCY_KEY_LENGTH - 8)


def legacy_document_number(record_id: str) -> str:
    """The documentNumber accsync sent before that upgrade: readable whenever it fit."""
    plain = f"AS-{record_id}"
    if len(plain) <= MAX_DOCUMENT_NUMBER_LENGTH:
        return plain
    return "AS-" + _digest(record_id, MAX_DOCUMENT_NUMBER_LENGTH - 3)


def document_number(record_id: str) -> str:
    """Business Central's documentNumber (Code[20], stored upper-cased), derived from the record id.

    Unique per record id under upper-casing, like `idempotency_key`. It is not qualified by
    org because each org has its own Business Central company.
    """
    plain = f"AS-{record_id}"
    if len(plain) <= MAX_DOCUMENT_NUMBER_LENGTH and _survives_upper_casing(record_id):
        return plain
    return "AS-" + _digest(record_id, MAX_DOCUMENT_NUMBER_LENGTH - 3)


def same_key(a: str, b: str) -> bool:
    """Keys as ledgers compare them: Business Central upper-cases Code fields."""
    return a.upper() == b.upper()
