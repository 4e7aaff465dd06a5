"""JSON for Business Central with exact amounts: a Decimal goes out as a JSON number, digit for digit.

The journalLine examples on Microsoft Learn send `amount` as a JSON number. `json.dumps`
cannot write a Decimal as a number without passing it through float; this writes its
exact decimal text instead, so `1234567890.10` is sent as exactly that.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps_exact(value: Any) -> str:
    """`value` as JSON; Decimals as numbers in plain notation (never exponent, never float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal has no JSON form")
        return format(value, "f")
    if isinstance(value, dict):
        members = (f"{json.dumps(str(name))}:{dumps_exact(item)}" for name, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps_exact(item) for item in value) + "]"
    return json.dumps(value)
