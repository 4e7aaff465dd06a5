"""Business Central lookup URLs: every key asked exactly once, quoted as a URL must be, within budget.

DESIGN, wire contracts, Business Central: "Use `eq` joined by `or`, in chunks that keep the
URL short".
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.connectors.dynamics_lookup import URL_BUDGET, filter_gets

values = st.lists(st.text(min_size=1, max_size=35), min_size=1, max_size=300, unique=True)


@given(values)
def test_eq_or_chains_ask_for_every_value_once_within_the_url_budget(asked: list[str]) -> None:
    gets = list(filter_gets("journalLines", "journalLines", "externalDocumentNumber", asked, "id"))
    found: list[str] = []
    for get in gets:
        assert len(get.url) <= URL_BUDGET or "%20or%20" not in get.url
        query = parse_qs(urlsplit(get.url).query, keep_blank_values=True)
        [expression] = query["$filter"]
        for term in expression.split(" or "):
            assert term.startswith("externalDocumentNumber eq '") and term.endswith("'")
            found.append(term.removeprefix("externalDocumentNumber eq '")[:-1].replace("''", "'"))
    if all(" or " not in value for value in asked):  # a value containing " or " splits ambiguously here
        assert found == asked


def test_a_value_that_needs_quoting_is_quoted() -> None:
    [get] = filter_gets("journalLines", "journalLines", "externalDocumentNumber", ["a b&c#ø"], "id")
    assert " " not in get.url and "#" not in get.url and "&c" not in get.url
