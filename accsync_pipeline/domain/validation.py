"""Whether a record can be exported as it stands; if not, the reason a person can act on.

A skip has a code, which the store keeps beside the words so that a program can find skips of
one kind (e.g. reopen those of a type the org includes again) without matching their text.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from accsync_pipeline.domain.amounts import amount_problem
from accsync_pipeline.domain.records import ApprovedRecord, ExportableRecord, RecordType

SUPPORTED_CURRENCIES = frozenset({"NOK"})
TYPE_NOT_INCLUDED = "is not included in this organization's sync"


class SkipCode(StrEnum):
    """Why a record is skipped, as stored in `record_sync_state.skip_code`."""

    UNKNOWN_RECORD_TYPE = "unknown_record_type"
    # Undone when the org includes the type again (see store.records.reopen_type_skips).
    TYPE_NOT_INCLUDED = "type_not_included"
    NO_EMPLOYEE_NUMBER = "no_employee_number"
    NO_EXPENSE_ACCOUNT = "no_expense_account"
    AMOUNT_NOT_POSTABLE = "amount_not_postable"
    CURRENCY_NOT_SUPPORTED = "currency_not_supported"


@dataclass(frozen=True)
class Skip:
    """A record that must be skipped: the code a program reads and the words a person reads."""

    code: SkipCode
    reason: str


def skip_for(
    record: ApprovedRecord,
    included_types: Collection[str],
    supported_currencies: Collection[str] = SUPPORTED_CURRENCIES,
) -> Skip | None:
    """Why this record must be skipped, or None when it can be exported."""
    if record.record_type not in {t.value for t in RecordType}:
        return Skip(SkipCode.UNKNOWN_RECORD_TYPE, f"unknown record type '{record.record_type}'")
    if record.record_type not in included_types:
        return Skip(SkipCode.TYPE_NOT_INCLUDED, f"record type '{record.record_type}' {TYPE_NOT_INCLUDED}")
    if not (record.employee_number or "").strip():
        return Skip(
            SkipCode.NO_EMPLOYEE_NUMBER, "no employee number: add the volunteer's employee number in the app"
        )
    if not (record.expense_account or "").strip():
        return Skip(
            SkipCode.NO_EXPENSE_ACCOUNT, "no expense account: set the general-ledger account in the app"
        )
    problem = record.amount_unreadable or amount_problem(record.amount)
    if problem:
        return Skip(SkipCode.AMOUNT_NOT_POSTABLE, problem)
    if record.currency not in supported_currencies:
        supported = ", ".join(sorted(supported_currencies))
        return Skip(
            SkipCode.CURRENCY_NOT_SUPPORTED,
            f"currency '{record.currency}' is not supported (supported: {supported})",
        )
    return None


def skip_reason(
    record: ApprovedRecord,
    included_types: Collection[str],
    supported_currencies: Collection[str] = SUPPORTED_CURRENCIES,
) -> str | None:
    """The words of `skip_for`: the reason this record must be skipped, or None."""
    skip = skip_for(record, included_types, supported_currencies)
    return skip.reason if skip else None


def to_exportable(record: ApprovedRecord, *, may_hold_legacy_keys: bool = True) -> ExportableRecord:
    """Narrow a record that has no skip reason. Call only after `skip_reason` returned None.

    `may_hold_legacy_keys`: what `domain.legacy_keys.may_hold_legacy_keys` says of it.
    """
    assert record.employee_number and record.expense_account
    return ExportableRecord(
        record_id=record.record_id,
        org_id=record.org_id,
        record_type=RecordType(record.record_type),
        employee_number=record.employee_number.strip(),
        amount=record.amount,
        currency=record.currency,
        expense_account=record.expense_account.strip(),
        description=record.description,
        expense_date=record.expense_date,
        approved_at=record.approved_at,
        may_hold_legacy_keys=may_hold_legacy_keys,
    )
