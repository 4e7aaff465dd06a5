"""The Xledger sandbox's contract, spoken to in raw HTTP."""

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
    edges { node { dbId extIdentifier } } pageInfo { hasNextPage endCursor } } }"""


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


def test_bad_token(xledger_sandbox: RunningSandbox) -> None:
    body = graphql(xledger_sandbox, FIND, {"first": 1}, token="nope")
    assert "bad format for api token" in body["errors"][0]["message"]


def test_mutation_is_atomic_and_names_bad_inputs(xledger_sandbox: RunningSandbox) -> None:
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1"), line("b", "k2", amount="zero")]})
    assert body["data"] is None
    assert [(e["extensions"]["clientId"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("b", "INVALID_VALUE")
    ]
    assert xledger_sandbox.postings() == []
    body = graphql(xledger_sandbox, ADD, {"inputs": [line("a", "k1")]})
    assert body["data"]["addGLImportItems"]["edges"][0]["clientId"] == "a"


def test_at_most_500_inputs(xledger_sandbox: RunningSandbox) -> None:
    body = graphql(xledger_sandbox, ADD, {"inputs": [line(str(i), f"k{i}") for i in range(501)]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST.TOO_MANY_INPUTS"


def test_lookup_pages_relay_style(xledger_sandbox: RunningSandbox) -> None:
    graphql(xledger_sandbox, ADD, {"inputs": [line(str(i), f"k{i % 5}") for i in range(12)]})
    seen, after = [], None
    while True:
        page = graphql(xledger_sandbox, FIND, {"first": 4, "after": after, "keys": ["k1", "k2"]})["data"][
            "glImportItems"
        ]
        seen += [edge["node"]["extIdentifier"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == ["k1", "k1", "k1", "k2", "k2"]


def test_burst_limit() -> None:
    with running_sandbox(XledgerSandbox(burst=2, burst_per_second=0.1)) as sandbox:
        codes = [graphql(sandbox, FIND, {"first": 1}).get("errors", [{}])[0].get("code") for _ in range(3)]
    assert codes == [None, None, "BAD_REQUEST.BURST_RATE_LIMIT_REACHED"]


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
