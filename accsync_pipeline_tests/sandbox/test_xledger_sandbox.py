"""The Xledger sandbox's contract, spoken to in raw HTTP.

Each quirk test names the point of DESIGN.md ("Wire contracts", Xledger) it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN, XledgerSandbox

ADD = """mutation($inputs: [AddGLImportItemsInput!]!) {
  addGLImportItems(inputs: $inputs) { edges { clientId node { dbId } } } }"""
FIND = """query($first: Int, $after: String, $keys: [String!]) {
  glImportItems(first: $first, after: $after, filter: {extIdentifier_in: $keys}) {
    edges { cursor node { dbId extIdentifier } } pageInfo { hasNextPage } } }"""


def line(client_id: str, key: str, amount: str = "10.00") -> dict[str, Any]:
    node = {"extIdentifier": key, "postedDate": "2025-03-03", "account": {"code": "6800"}, "amount": amount}
    return {"clientId": client_id, "node": node}


def graphql(
    sandbox: RunningSandbox, query: str, variables: dict[str, Any], token: str = DEFAULT_TOKEN
) -> Any:
    response = httpx.post(
        f"{sandbox.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"token {token}"},
    )
    assert response.status_code == 200, "Xledger answers errors with HTTP 200"
    return response.json()


def test_bad_token_says_bad_format_for_api_token(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: a bad token gives an error whose message contains `Bad format for API Token`."""
    body = graphql(xledger_sandbox, FIND, {"first": 1}, token="nope")
    assert "Bad format for API Token" in body["errors"][0]["message"]


def test_partial_commit_stores_the_valid_inputs_of_an_errored_mutation(
    xledger_sandbox: RunningSandbox,
) -> None:
    """DESIGN, unverified: a mass mutation is atomic. Worst case, on by default: it is not."""
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2", amount="zero")]})
    assert body["data"] is None, "the answer gives no ids for what it stored"
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_VALUE"]
    assert [p["extIdentifier"] for p in xledger_sandbox.postings()] == ["k1"]


def test_partial_commit_can_answer_partial_data(xledger_sandbox: RunningSandbox) -> None:
    xledger_sandbox.set_faults(partial_data=True)
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2", amount="zero")]})
    assert [edge["clientId"] for edge in body["data"]["addGLImportItems"]["edges"]] == ["a"]
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VALUE"


def test_errors_name_no_input_by_default(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN, unverified: errors name the bad inputs in `extensions.clientId`. By default they do not."""
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2", amount="zero")]})
    assert "clientId" not in body["errors"][0]["extensions"]


def test_atomic_mode_naming_bad_inputs_shows_the_difference(xledger_sandbox: RunningSandbox) -> None:
    xledger_sandbox.set_faults(partial_commit=False, name_bad_inputs=True)
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2", amount="zero")]})
    assert body["data"] is None
    assert [(e["extensions"]["clientId"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("b", "INVALID_VALUE")
    ]
    assert xledger_sandbox.postings() == []
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1")]})
    assert body["data"]["addGLImportItems"]["edges"][0]["clientId"] == "a"


def test_reject_keys_match_without_regard_to_case(xledger_sandbox: RunningSandbox) -> None:
    xledger_sandbox.set_faults(reject_keys={"K2": "INVALID_VALUE"})
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2")]})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VALUE"
    assert [p["extIdentifier"] for p in xledger_sandbox.postings()] == ["k1"]


def test_timeout_after_commit_answers_your_query_timed_out_without_code(
    xledger_sandbox: RunningSandbox,
) -> None:
    """DESIGN: "Your query timed out." with no code; for a mutation, it may have been stored."""
    xledger_sandbox.set_faults(timeout_after_commit=1)
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1")]})
    assert body == {"data": None, "errors": [{"message": "Your query timed out."}]}
    assert len(xledger_sandbox.postings()) == 1
    graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k2")]})
    assert len(xledger_sandbox.postings()) == 2, "only the next N mutations"


def test_at_most_500_inputs(xledger_sandbox: RunningSandbox) -> None:
    body = graphql(xledger_sandbox, ADD, {"inputs": [line(str(i), f"k{i}") for i in range(501)]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST.TOO_MANY_INPUTS"


def test_at_most_10000_records_per_query(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: at most 10,000 records per query."""
    assert "errors" not in graphql(xledger_sandbox, FIND, {"first": 10_000, "keys": ["k1"]})
    body = graphql(xledger_sandbox, FIND, {"first": 10_001, "keys": ["k1"]})
    assert body["data"] is None and body["errors"][0]["code"] == "INVALID_VALUE"


def test_pages_have_edge_cursors_and_no_end_cursor(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: every edge carries a `cursor`; `pageInfo.endCursor` is unverified, so there is none."""
    with_end_cursor = FIND.replace("pageInfo { hasNextPage }", "pageInfo { hasNextPage endCursor }")
    body = graphql(xledger_sandbox, with_end_cursor, {"first": 1})
    assert body["errors"][0]["code"] == "GRAPHQL_VALIDATION_FAILED"
    xledger_sandbox.set_faults(unrelated_lookup_items=0)
    graphql(xledger_sandbox, ADD, {"inputs": [line(str(i), f"k{i % 5}") for i in range(12)]})
    seen, after = [], None
    while True:
        page = graphql(xledger_sandbox, FIND, {"first": 2, "after": after, "keys": ["k1", "k2"]})["data"][
            "glImportItems"
        ]
        seen += [edge["node"]["extIdentifier"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["edges"][-1]["cursor"]
    assert sorted(seen) == ["k1", "k1", "k1", "k2", "k2"]


def keys_answered(body: Any) -> list[str]:
    return sorted(edge["node"]["extIdentifier"] for edge in body["data"]["glImportItems"]["edges"])


def test_lookup_filter_ignores_case_and_answers_items_not_asked_for(xledger_sandbox: RunningSandbox) -> None:
    """DESIGN: a lookup answer may hold more, or differently-cased, data than asked."""
    graphql(xledger_sandbox, ADD, {"inputs": [line("a", "Key-1"), line("b", "other"), line("c", "more")]})
    assert keys_answered(graphql(xledger_sandbox, FIND, {"first": 10, "keys": ["KEY-1"]})) == [
        "Key-1",
        "more",
        "other",
    ]
    xledger_sandbox.set_faults(unrelated_lookup_items=0)
    assert keys_answered(graphql(xledger_sandbox, FIND, {"first": 10, "keys": ["KEY-1"]})) == ["Key-1"]


def test_burst_limit() -> None:
    with running_sandbox(XledgerSandbox(burst=2, burst_per_second=0.1)) as sandbox:
        codes = [graphql(sandbox, FIND, {"first": 1}).get("errors", [{}])[0].get("code") for _ in range(3)]
    assert codes == [None, None, "BAD_REQUEST.BURST_RATE_LIMIT_REACHED"]


@pytest.mark.parametrize(
    ("fault", "code"),
    [("throttle", "BAD_REQUEST.BURST_RATE_LIMIT_REACHED")],
)
def test_throttle_fault_answers_a_throttling_code(
    xledger_sandbox: RunningSandbox, fault: str, code: str
) -> None:
    """DESIGN: throttling codes come with HTTP 200 and nothing stored."""
    xledger_sandbox.set_faults(**{fault: 1})
    assert graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1")]})["errors"][0]["code"] == code
    assert xledger_sandbox.postings() == []


@pytest.mark.parametrize(("fault", "stored"), [("resets", 0), ("drop_after_commit", 1)])
def test_connection_faults_reach_the_client_as_connection_errors(
    xledger_sandbox: RunningSandbox, fault: str, stored: int
) -> None:
    xledger_sandbox.set_faults(**{fault: 1})
    with pytest.raises(httpx.TransportError):
        graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1")]})
    assert len(xledger_sandbox.postings()) == stored


def test_faults_are_validated(xledger_sandbox: RunningSandbox) -> None:
    response = httpx.post(f"{xledger_sandbox.base_url}/_sandbox/faults", json={"resets": -1})
    assert response.status_code == 422


def test_postings_persist_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "xledger.json"
    with running_sandbox(XledgerSandbox(persist_path=path)) as sandbox:
        graphql(sandbox, ADD, {"inputs": [line("a", "k1")]})
    with running_sandbox(XledgerSandbox(persist_path=path)) as sandbox:
        assert [p["extIdentifier"] for p in sandbox.postings()] == ["k1"]
        graphql(sandbox, ADD, {"inputs": [line("a", "k2")]})
        assert [p["dbId"] for p in sandbox.postings()] == [1, 2]
