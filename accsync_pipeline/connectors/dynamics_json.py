"""JSON for Business Central with exact amounts: a Decimal goes out as a JSON number, digit for digit.

The journalLine examples on Microsoft Learn send `amount` as a JSON number. `json.dumps`
cannot write a Decimal as a number without passing it through float; this writes its
exact decimal text instead, so `1234567890.10` is sent as exactly that.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# A Decimal is written by the C encoder's `default` hook as a string between NULs, then
# unquoted. The encoder writes a NUL inside a string as the six characters \u0000, so each
# Decimal leaves exactly two of them, as `"\u0000` before its digits and `\u0000"` after;
# any more means some text held a NUL (or those six characters) of its own, and that value
# is written the slow way instead. With none of its own, every one is a marker to remove.
_ESCAPED_NUL = "\\u0000"
_OPENING, _CLOSING = '"' + _ESCAPED_NUL, _ESCAPED_NUL + '"'


def dumps_exact(value: Any) -> str:
    """`value` as JSON; Decimals as numbers in plain notation (never exponent, never float)."""
    decimals = 0

    def marked(item: Any) -> str:
        nonlocal decimals
        if not isinstance(item, Decimal):
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")
        if not item.is_finite():
            raise ValueError("a non-finite Decimal has no JSON form")
        decimals += 1
        return "\x00" + format(item, "f") + "\x00"

    text = json.dumps(value, separators=(",", ":"), default=marked)
    if text.count(_ESCAPED_NUL) != 2 * decimals:
        return _dumps_slowly(value)
    return text.replace(_OPENING, "").replace(_CLOSING, "") if decimals else text


def _dumps_slowly(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal has no JSON form")
        return format(value, "f")
    if isinstance(value, dict):
        members = (f"{json.dumps(str(name))}:{_dumps_slowly(item)}" for name, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_dumps_slowly(item) for item in value) + "]"
    return json.dumps(value)
