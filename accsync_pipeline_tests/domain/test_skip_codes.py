"""Each skip rule gives its own code beside the words of `skip_reason`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from accsync_pipeline.domain.validation import SkipCode, skip_for, skip_reason
from accsync_pipeline_tests.domain.test_skip_reasons import RECORD, TYPES

CASES = [
    ({"record_type": "gift"}, TYPES, SkipCode.UNKNOWN_RECORD_TYPE),
    ({}, ("reimbursement",), SkipCode.TYPE_NOT_INCLUDED),
    ({"employee_number": " "}, TYPES, SkipCode.NO_EMPLOYEE_NUMBER),
    ({"expense_account": None}, TYPES, SkipCode.NO_EXPENSE_ACCOUNT),
    ({"amount": Decimal("0")}, TYPES, SkipCode.AMOUNT_NOT_POSTABLE),
    ({"amount": Decimal("0.001")}, TYPES, SkipCode.AMOUNT_NOT_POSTABLE),
    ({"amount_unreadable": "amount is not a number"}, TYPES, SkipCode.AMOUNT_NOT_POSTABLE),
    ({"currency": "SEK"}, TYPES, SkipCode.CURRENCY_NOT_SUPPORTED),
]


@pytest.mark.parametrize(("changes", "included", "code"), CASES)
def test_each_rule_has_its_code_and_the_words_of_skip_reason(
    changes: dict[str, object], included: tuple[str, ...], code: SkipCode
) -> None:
    record = replace(RECORD, **changes)  # type: ignore[arg-type]
    skip = skip_for(record, included)
    assert skip is not None and skip.code is code
    assert skip.reason == skip_reason(record, included)


def test_an_exportable_record_has_no_skip() -> None:
    assert skip_for(RECORD, TYPES) is None


def test_every_code_is_reached_by_a_rule() -> None:
    assert {code for _, _, code in CASES} == set(SkipCode)
