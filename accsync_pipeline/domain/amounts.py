"""Amounts as the source contract gives them (numeric(12,2)), parsed exactly and never rounded.

A ledger posting must carry the amount the approver approved. An amount that cannot be posted
as it stands (text, not finite, not positive, more than two decimals, more than numeric(12,2)
holds) is not "corrected" here: the record is skipped with a reason that says which, and the
app's edit makes it pending again.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2): ten digits before the point, two after
CENT = Decimal("0.01")


class AmountError(ValueError):
    """An amount that cannot be posted; the message is the skip reason (never the raw text)."""


def parse_amount(raw: object) -> Decimal:
    """The exact decimal value of a source amount, or AmountError.

    Drivers give a `Decimal` (PostgreSQL), a `float` or `int` (SQLite keeps numeric as REAL or
    INTEGER) or, for a careless row, text. A float is read through its shortest round-trip
    text, which is the decimal the writer stored: 0.005 stays 0.005, it does not become 0.01.
    """
    if raw is None:
        raise AmountError("amount is missing")
    if isinstance(raw, bool):
        raise AmountError("amount is not a number")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise AmountError("amount is not a number") from None
    else:
        raise AmountError("amount is not a number")
    if not value.is_finite():
        raise AmountError("amount is not a finite number")
    return value


def amount_problem(amount: Decimal) -> str | None:
    """Why this exact amount cannot be posted as it stands, or None when it can."""
    if not amount.is_finite():
        return "amount is not a finite number"
    if amount <= 0:
        return "amount is not positive"
    # Size first: quantizing an amount with more digits than the decimal context holds raises.
    if amount > MAX_AMOUNT:
        return f"amount is larger than the source contract allows (numeric(12,2), at most {MAX_AMOUNT})"
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        return "amount has more than two decimals; it is never rounded: correct it in the app"
    return None
