"""Business Central lookup URLs: every key asked exactly once, quoted as a URL must be, within budget.

DESIGN, wire contracts, Business Central: "Use `eq` joined by `or`, in chunks that keep the
URL short".
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.connectors.dynamics_json import _dumps_slowly, dumps_exact
from accsync_pipeline.connectors.dynamics_lookup import URL_BUDGET, filter_gets
from accsync_pipeline.sandbox.dynamics_filter import parse_filter

KEY_FIELD = frozenset({"externalDocumentNumber"})

values = st.lists(st.text(min_size=1, max_size=35), min_size=1, max_size=300, unique=True)


@given(values)
def test_eq_or_chains_ask_for_every_value_once_within_the_url_budget(asked: list[str]) -> None:
    gets = list(filter_gets("journalLines", "journalLines", "externalDocumentNumber", asked, "id"))
    # A value holding " or " cannot be told apart by splitting: read those chains as the sandbox does.
    ambiguous = any(" or " in value for value in asked)
    found: list[str] = []
    for get in gets:
        assert len(get.url) <= URL_BUDGET or "%20or%20" not in get.url
        query = parse_qs(urlsplit(get.url).query, keep_blank_values=True)
        [expression] = query["$filter"]
        if ambiguous:
            wanted = parse_filter(expression, KEY_FIELD, schema_version=None, in_ignored=True)
            assert wanted is not None
            found.extend(wanted.values["externalDocumentNumber"])
            continue
        for term in expression.split(" or "):
            assert term.startswith("externalDocumentNumber eq '") and term.endswith("'")
            found.append(term.removeprefix("externalDocumentNumber eq '")[:-1].replace("''", "'"))
    assert sorted(found) == sorted(asked) if ambiguous else found == asked


def test_a_value_that_needs_quoting_is_quoted() -> None:
    [get] = filter_gets("journalLines", "journalLines", "externalDocumentNumber", ["a b&c#ø"], "id")
    assert " " not in get.url and "#" not in get.url and "&c" not in get.url


# -- amounts as exact JSON numbers (DESIGN: "`amount` (a JSON number in the documented examples)") --

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_the_fast_json_writer_writes_what_the_exact_one_writes(value: object) -> None:
    assert dumps_exact(value) == _dumps_slowly(value)
    assert json.loads(dumps_exact(value), parse_float=Decimal) == json.loads(
        _dumps_slowly(value), parse_float=Decimal
    )


def test_an_amount_goes_out_digit_for_digit() -> None:
    assert dumps_exact({"amount": Decimal("1234567890.10")}) == '{"amount":1234567890.10}'
    assert dumps_exact({"text": "\\u00001\\u0000", "nul": "a\x00b"}) == _dumps_slowly(
        {"text": "\\u00001\\u0000", "nul": "a\x00b"}
    )
