"""A record is skipped with the first reason a person can act on, word for word; else exported as is."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from accsync_pipeline.domain.amounts import AmountError, amount_problem, parse_amount
from accsync_pipeline.domain.records import ApprovedRecord, ExportableRecord, RecordType
from accsync_pipeline.domain.validation import skip_reason, to_exportable
from accsync_pipeline_tests.factories import NOW

TYPES = ("reimbursement", "honorarium")
RECORD = ApprovedRecord(
    record_id="R1",
    org_id="hlf",
    record_type="honorarium",
    person_id="P1",
    person_name="Kari Nordmann",
    employee_number=" 20001 ",
    amount=Decimal("150.50"),
    currency="NOK",
    expense_account=" 7140 ",
    description="Reise",
    expense_date=NOW.date(),
    approved_at=NOW,
    approved_by="approver",
    updated_at=NOW,
)


@pytest.mark.parametrize(
    ("changes", "included", "reason"),
    [
        ({}, TYPES, None),
        ({"record_type": "gift"}, TYPES, "unknown record type 'gift'"),
        (
            {},
            ("reimbursement",),
            "record type 'honorarium' is not included in this organization's sync",
        ),
        (
            {"employee_number": None},
            TYPES,
            "no employee number: add the volunteer's employee number in the app",
        ),
        (
            {"employee_number": "  "},
            TYPES,
            "no employee number: add the volunteer's employee number in the app",
        ),
        ({"expense_account": None}, TYPES, "no expense account: set the general-ledger account in the app"),
        ({"expense_account": " "}, TYPES, "no expense account: set the general-ledger account in the app"),
        ({"amount": Decimal("0")}, TYPES, "amount is not positive"),
        ({"amount": Decimal("-0.01")}, TYPES, "amount is not positive"),
        ({"amount": Decimal("0.01")}, TYPES, None),
        (
            {"amount": Decimal("0"), "amount_unreadable": "amount is not a number"},
            TYPES,
            "amount is not a number",
        ),
        ({"currency": "SEK"}, TYPES, "currency 'SEK' is not supported (supported: NOK)"),
        # The first problem wins, in the order a person would fix them.
        (
            {"employee_number": None, "expense_account": None},
            TYPES,
            "no employee number: add the volunteer's employee number in the app",
        ),
        (
            {"expense_account": None, "amount": Decimal("0")},
            TYPES,
            "no expense account: set the general-ledger account in the app",
        ),
        ({"amount": Decimal("0"), "currency": "SEK"}, TYPES, "amount is not positive"),
    ],
)
def test_skip_reasons(changes: dict[str, object], included: tuple[str, ...], reason: str | None) -> None:
    assert skip_reason(replace(RECORD, **changes), included) == reason  # type: ignore[arg-type]


def test_supported_currencies_are_listed_sorted() -> None:
    assert (
        skip_reason(replace(RECORD, currency="USD"), TYPES, supported_currencies={"SEK", "NOK", "EUR"})
        == "currency 'USD' is not supported (supported: EUR, NOK, SEK)"
    )
    assert skip_reason(replace(RECORD, currency="SEK"), TYPES, supported_currencies={"SEK", "NOK"}) is None


def test_an_exportable_record_keeps_every_value_with_codes_trimmed() -> None:
    assert to_exportable(RECORD) == ExportableRecord(
        record_id="R1",
        org_id="hlf",
        record_type=RecordType.HONORARIUM,
        employee_number="20001",
        amount=Decimal("150.50"),
        currency="NOK",
        expense_account="7140",
        description="Reise",
        expense_date=NOW.date(),
        approved_at=NOW,
    )


@pytest.mark.parametrize("may_hold", [True, False])
def test_an_exportable_record_carries_whether_it_may_hold_legacy_keys(may_hold: bool) -> None:
    assert to_exportable(RECORD, may_hold_legacy_keys=may_hold).may_hold_legacy_keys is may_hold


@pytest.mark.parametrize("changes", [{"employee_number": None}, {"expense_account": ""}])
def test_only_a_record_without_a_skip_reason_is_narrowed(changes: dict[str, object]) -> None:
    with pytest.raises(AssertionError):
        to_exportable(replace(RECORD, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "amount is missing"),
        (True, "amount is not a number"),
        ("abc", "amount is not a number"),
        (b"1", "amount is not a number"),
        ("NaN", "amount is not a finite number"),
        (float("inf"), "amount is not a finite number"),
    ],
)
def test_unreadable_amounts_say_why(raw: object, message: str) -> None:
    with pytest.raises(AmountError) as raised:
        parse_amount(raw)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (Decimal("0.01"), None),
        (Decimal("9999999999.99"), None),
        (Decimal("0.00"), "amount is not positive"),
        (Decimal("-5"), "amount is not positive"),
        (Decimal("NaN"), "amount is not a finite number"),
        (
            Decimal("10000000000.00"),
            "amount is larger than the source contract allows (numeric(12,2), at most 9999999999.99)",
        ),
        (Decimal("1.005"), "amount has more than two decimals; it is never rounded: correct it in the app"),
        (Decimal("1.019"), "amount has more than two decimals; it is never rounded: correct it in the app"),
        (Decimal("-0.001"), "amount is not positive"),
    ],
)
def test_amount_problems(amount: Decimal, problem: str | None) -> None:
    assert amount_problem(amount) == problem
