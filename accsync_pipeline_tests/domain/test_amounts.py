"""Amounts are parsed exactly and never rounded: an amount that cannot be posted as it stands is skipped."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.amounts import MAX_AMOUNT, AmountError, amount_problem, parse_amount
from accsync_pipeline.domain.records import ApprovedRecord
from accsync_pipeline.domain.validation import skip_reason, to_exportable
from accsync_pipeline_tests.factories import NOW

TYPES = ("reimbursement", "honorarium")

# Every amount numeric(12,2) holds that may be posted: 0.01 to 9,999,999,999.99, in cents.
postable = st.integers(min_value=1, max_value=999_999_999_999).map(lambda cents: Decimal(cents).scaleb(-2))


def record(amount: Decimal, unreadable: str | None = None) -> ApprovedRecord:
    return ApprovedRecord(
        record_id="R1",
        org_id="hlf",
        record_type="reimbursement",
        person_id="P1",
        person_name="Kari Nordmann",
        employee_number="20001",
        amount=amount,
        currency="NOK",
        expense_account="7140",
        description="Reise",
        expense_date=NOW.date(),
        approved_at=NOW,
        approved_by="approver",
        updated_at=NOW,
        amount_unreadable=unreadable,
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0.005", "more than two decimals"),
        ("1.005", "more than two decimals"),
        ("12.345", "more than two decimals"),
        ("0.001", "more than two decimals"),
        ("1e12", "larger than the source contract allows"),
        ("1e15", "larger than the source contract allows"),
        ("10000000000.00", "larger than the source contract allows"),
        ("0", "not positive"),
        ("-0.01", "not positive"),
        ("-12.345", "not positive"),
    ],
)
def test_unpostable_amounts_are_skipped_with_the_reason_never_rounded(raw: str, reason: str) -> None:
    exact = parse_amount(raw)
    assert exact == Decimal(raw)
    found = skip_reason(record(exact), TYPES)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "raw", ["abc", "", "1,50", "12 NOK", "NaN", "Infinity", "-inf", "sNaN", None, True, b"1"]
)
def test_unreadable_amounts_are_refused_with_a_reason(raw: object) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(raw)
    assert "amount" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "exact"),
    [
        (0.005, Decimal("0.005")),  # SQLite keeps numeric as REAL: its shortest text is what was stored
        (1.005, Decimal("1.005")),
        (12.345, Decimal("12.345")),
        (1234.5, Decimal("1234.5")),
        (9999999999.99, Decimal("9999999999.99")),
        (1e15, Decimal("1000000000000000.0")),
        (1_000_000_000_000, Decimal("1000000000000")),
        (Decimal("12.50"), Decimal("12.50")),
        (" 12.50 ", Decimal("12.50")),
    ],
)
def test_driver_values_are_read_exactly(raw: object, exact: Decimal) -> None:
    assert parse_amount(raw) == exact


@given(postable)
def test_every_postable_amount_passes_unchanged(amount: Decimal) -> None:
    assert amount_problem(amount) is None
    assert skip_reason(record(amount), TYPES) is None
    assert to_exportable(record(amount)).amount == amount


@given(postable)
def test_every_postable_amount_survives_a_float_column(amount: Decimal) -> None:
    # What SQLite gives back for a numeric(12,2) value the app wrote.
    assert parse_amount(float(amount)) == amount
    assert parse_amount(str(amount)) == amount


@given(postable, st.integers(min_value=1, max_value=9).map(lambda d: Decimal(d).scaleb(-3)))
def test_a_third_decimal_is_always_skipped_never_rounded(amount: Decimal, extra: Decimal) -> None:
    odd = amount + extra if amount + extra <= MAX_AMOUNT else amount - extra
    reason = skip_reason(record(odd), TYPES)
    assert reason is not None and "more than two decimals" in reason


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_either_posts_unchanged_or_has_a_reason(amount: Decimal) -> None:
    problem = amount_problem(amount)
    if problem is None:
        assert Decimal("0.01") <= amount <= MAX_AMOUNT
        assert amount == amount.quantize(Decimal("0.01"))
    else:
        assert problem.startswith("amount ")


@given(st.decimals(min_value=Decimal("1e10"), allow_nan=False, allow_infinity=False))
def test_amounts_beyond_numeric_12_2_are_skipped(amount: Decimal) -> None:
    reason = amount_problem(amount)
    assert reason is not None and "larger than" in reason


@given(st.text(max_size=30))
def test_any_text_is_a_number_or_refused(text: str) -> None:
    try:
        value = parse_amount(text)
    except AmountError as e:
        assert str(e).startswith("amount ")
    else:
        assert value.is_finite()


def test_an_unreadable_amount_is_the_skip_reason() -> None:
    bad = record(Decimal(0), unreadable="amount is not a number")
    assert skip_reason(bad, TYPES) == "amount is not a number"
    assert skip_reason(replace(bad, amount_unreadable=None, amount=Decimal("1.00")), TYPES) is None


def test_an_unknown_record_type_is_skipped_with_its_reason() -> None:
    reason = skip_reason(replace(record(Decimal("1.00")), record_type="bonus"), TYPES)
    assert reason == "unknown record type 'bonus'"
