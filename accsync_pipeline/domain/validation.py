"""Whether a record can be exported as it stands; if not, the reason a person can act on."""

from __future__ import annotations

from collections.abc import Collection

from accsync_pipeline.domain.amounts import amount_problem
from accsync_pipeline.domain.records import ApprovedRecord, ExportableRecord, RecordType

SUPPORTED_CURRENCIES = frozenset({"NOK"})
# A skip for this reason is undone when the org includes the type again (see store.records).
TYPE_NOT_INCLUDED = "is not included in this organization's sync"


def skip_reason(
    record: ApprovedRecord,
    included_types: Collection[str],
    supported_currencies: Collection[str] = SUPPORTED_CURRENCIES,
) -> str | None:
    """The reason this record must be skipped, or None when it can be exported."""
    if record.record_type not in {t.value for t in RecordType}:
        return f"unknown record type '{record.record_type}'"
    if record.record_type not in included_types:
        return f"record type '{record.record_type}' {TYPE_NOT_INCLUDED}"
    if not (record.employee_number or "").strip():
        return "no employee number: add the volunteer's employee number in the app"
    if not (record.expense_account or "").strip():
        return "no expense account: set the general-ledger account in the app"
    problem = record.amount_unreadable or amount_problem(record.amount)
    if problem:
        return problem
    if record.currency not in supported_currencies:
        supported = ", ".join(sorted(supported_currencies))
        return f"currency '{record.currency}' is not supported (supported: {supported})"
    return None


def to_exportable(record: ApprovedRecord) -> ExportableRecord:
    """Narrow a record that has no skip reason. Call only after `skip_reason` returned None."""
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
    )
