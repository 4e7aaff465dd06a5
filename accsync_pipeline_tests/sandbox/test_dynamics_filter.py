"""The sandbox's `$filter` reader: the one-pass reading of an `eq … or …` chain agrees with the
term-by-term one on every chain, and refuses what it refuses; a batched URL's query is read
as `parse_qs` reads it."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.sandbox.dynamics import _target
from accsync_pipeline.sandbox.dynamics_filter import _eq_chain, parse_filter
from accsync_pipeline.sandbox.dynamics_journal import LineError

FIELDS = frozenset({"externalDocumentNumber", "documentNumber"})
spaces = st.sampled_from(["", " ", "  "])
terms = st.tuples(
    st.sampled_from(sorted(FIELDS)),
    st.text(min_size=0, max_size=12),
    st.booleans(),  # parentheses around the term
    spaces,
)


def chain(parts: list[tuple[str, str, bool, str]]) -> str:
    written = []
    for field, value, parenthesised, space in parts:
        escaped = value.replace("'", "''")
        term = f"{field} eq '{escaped}'"
        written.append(f"{space}({term}){space}" if parenthesised else f"{space}{term}{space}")
    return " or ".join(written)


@given(st.lists(terms, min_size=1, max_size=40))
def test_a_chain_is_read_as_the_term_by_term_reader_reads_it(parts: list[tuple[str, str, bool, str]]) -> None:
    expression = chain(parts)
    wanted = parse_filter(expression, FIELDS, schema_version=None, in_ignored=True)
    assert wanted is not None
    assert wanted == _eq_chain(expression.strip(), FIELDS)
    expected: dict[str, set[str]] = {}
    for field, value, _, _ in parts:
        expected.setdefault(field, set()).add(value)
    assert {field: set(values) for field, values in wanted.values.items()} == expected


@pytest.mark.parametrize(
    "expression",
    [
        "externalDocumentNumber eq 'A' and documentNumber eq 'B'",
        "externalDocumentNumber eq 'A' or",
        "externalDocumentNumber eq 'A' externalDocumentNumber eq 'B'",
        "accountNumber eq '6800'",
        "externalDocumentNumber eq 'A' or accountNumber eq 'B'",
        "externalDocumentNumber eq 'it's'",
    ],
)
def test_anything_else_is_refused(expression: str) -> None:
    with pytest.raises(LineError):
        parse_filter(expression, FIELDS, schema_version=None, in_ignored=True)


pieces = st.sampled_from(
    ["a", "Z", " ", "%20", "+", "&", "=", "$", "'", "%25", "%2", "%", "%27", "é", "%C3%A9"]
)


@given(st.lists(pieces, max_size=16))
def test_a_batched_urls_query_is_read_as_parse_qs_reads_it(parts: list[str]) -> None:
    query = "".join(parts)
    _, read = _target.__wrapped__(f"journalLines?{query}")
    assert read == {name: values[0] for name, values in parse_qs(query).items()}
