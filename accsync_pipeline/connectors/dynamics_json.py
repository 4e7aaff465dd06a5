"""JSON for Business Central with exact amounts: a Decimal goes out as a JSON number, digit for digit.

The journalLine examples on Microsoft Learn send `amount` as a JSON number. `json.dumps`
cannot write a Decimal as a number without passing it through float; this writes its
exact decimal text instead, so `1234567890.10` is sent as exactly that.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

# A Decimal is first written as a string between NULs, then unquoted. The C encoder writes a
# NUL inside a string as the six characters \u0000, so a marked number can only come from a
# Decimal: text that held a NUL of its own is written the slow way instead.
_MARKED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def dumps_exact(value: Any) -> str:
    """`value` as JSON; Decimals as numbers in plain notation (never exponent, never float)."""
    marked, clean = _mark_decimals(value)
    if clean:
        return _MARKED.sub(r"\1", json.dumps(marked, separators=(",", ":")))
    return _dumps_slowly(value)


def _mark_decimals(value: Any) -> tuple[Any, bool]:
    """`value` with each Decimal as a marked string; False when some text already holds a NUL."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal has no JSON form")
        return "\x00" + format(value, "f") + "\x00", True
    if isinstance(value, str):
        return value, "\x00" not in value
    if isinstance(value, dict):
        clean = True
        members = {}
        for name, item in value.items():
            members[name], item_clean = _mark_decimals(item)
            clean = clean and item_clean and "\x00" not in str(name)
        return members, clean
    if isinstance(value, (list, tuple)):
        items = [_mark_decimals(item) for item in value]
        return [item for item, _ in items], all(ok for _, ok in items)
    return value, True


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
