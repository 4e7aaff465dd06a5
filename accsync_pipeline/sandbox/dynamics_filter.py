"""The part of OData `$filter` the Business Central sandbox understands, with BC's quirks.

Sources: Microsoft Learn, "Using filter expressions in OData URIs" (Business Central):
`eq`, `or`, parentheses; the `in` operator is listed only for API pages on schema version
2.1 (`$schemaversion=2.1`). microsoft/ALAppExtensions#25734 reports that on API v2.0 an
`in` filter is ignored — the whole table comes back, with no error. A comparison on a Code
field matches the stored upper-case value (Code data type: stored upper-cased): the
sandbox upper-cases the values asked for before comparing (see `DynamicsSandbox`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accsync_pipeline.sandbox.dynamics_journal import LineError

# A quoted value, '' standing for one quote; unrolled, so a run of other characters is one step.
_QUOTED = r"'([^']*(?:''[^']*)*)'"
_TERM = re.compile(rf"\s*\(?\s*(\w+)\s+eq\s+{_QUOTED}\s*\)?\s*")
_OR = re.compile(r"or\b")
_STARTSWITH = re.compile(rf"\s*startswith\(\s*(\w+)\s*,\s*{_QUOTED}\s*\)\s*")
_IN = re.compile(rf"\s*\(?\s*(\w+)\s+in\s+\(((?:\s*{_QUOTED}\s*,?)*)\)\s*\)?\s*")
# The whole of an `eq … or …` chain in one pattern, then its terms in one scan: a lookup of
# thousands of keys is parsed in C, not term by term. `_eq_chain` reads what this refuses,
# to say why.
_TERM_TEXT = r"\s*\(?\s*\w+\s+eq\s+'[^']*(?:''[^']*)*'\s*\)?\s*"
_CHAIN = re.compile(rf"{_TERM_TEXT}(?:or\b{_TERM_TEXT})*")
_FIELD_AND_VALUE = re.compile(rf"(\w+)\s+eq\s+{_QUOTED}")


@dataclass(frozen=True)
class Wanted:
    """Rows a filter selects: `values[field]` holds the values asked for, as written."""

    values: dict[str, frozenset[str]]


def parse_filter(
    expression: str | None, fields: frozenset[str], *, schema_version: str | None, in_ignored: bool
) -> Wanted | None:
    """What `$filter` selects on `fields`; None means every row (no filter, or an ignored one).

    Raises LineError(400) for anything else: the sandbox is stricter than BC, which
    understands much more, so that a connector never relies on an untested expression.
    """
    if expression is None or not expression.strip():
        return None
    if match := _IN.fullmatch(expression):
        field = match.group(1)
        _check_field(field, fields)
        if in_ignored and schema_version != "2.1":
            return None
        values = [value.replace("''", "'") for value in re.findall(_QUOTED, match.group(2))]
        return Wanted({field: frozenset(values)})
    expression = expression.strip()
    if _CHAIN.fullmatch(expression):
        by_field: dict[str, set[str]] = {}
        for field, value in _FIELD_AND_VALUE.findall(expression):
            by_field.setdefault(field, set()).add(value.replace("''", "'"))
        for field in by_field:
            _check_field(field, fields)
        return Wanted({field: frozenset(found) for field, found in by_field.items()})
    return _eq_chain(expression, fields)


def parse_prefix(expression: str | None, fields: frozenset[str]) -> tuple[str, str] | None:
    """(field, prefix) of a lone `startswith(field,'prefix')` filter, else None.

    `startswith` is among the functions "Using filter expressions in OData URIs" lists; on a
    Code field it compares with the stored upper-case value, like `eq`.
    """
    match = _STARTSWITH.fullmatch(expression or "")
    if match is None:
        return None
    _check_field(match.group(1), fields)
    return match.group(1), match.group(2).replace("''", "'")


def _eq_chain(expression: str, fields: frozenset[str]) -> Wanted:
    # Parentheses are optional: `_TERM` takes one around any term, which also covers a
    # pair around the whole chain.
    values: dict[str, set[str]] = {}
    position = 0
    while True:
        term = _TERM.match(expression, position)
        if term is None:
            raise LineError(
                400, "BadRequest", "the sandbox understands only 'field eq value' joined by 'or'."
            )
        _check_field(term.group(1), fields)
        values.setdefault(term.group(1), set()).add(term.group(2).replace("''", "'"))
        position = term.end()
        if position == len(expression):
            return Wanted({field: frozenset(found) for field, found in values.items()})
        joiner = _OR.match(expression, position)
        if joiner is None:
            raise LineError(400, "BadRequest", "terms of a $filter must be joined by 'or'.")
        position = joiner.end()


def _check_field(field: str, fields: frozenset[str]) -> None:
    if field not in fields:
        raise LineError(400, "BadRequest", f"the sandbox cannot filter on '{field}'.")
