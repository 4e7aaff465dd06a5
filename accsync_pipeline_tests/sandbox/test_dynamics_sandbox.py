"""The Business Central sandbox's contract, spoken to in raw HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from accsync_pipeline.sandbox.dynamics import DEFAULT_COMPANY_ID, DEFAULT_JOURNAL_ID, DynamicsSandbox
from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox

LINES = f"companies({DEFAULT_COMPANY_ID})/journals({DEFAULT_JOURNAL_ID})/journalLines"
IEEE = {"Content-Type": "application/json; IEEE754Compatible=true"}


def token(sandbox: RunningSandbox, secret: str = "sandbox-secret") -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": "accsync-sandbox", "client_secret": secret}
    form["scope"] = "https://api.businesscentral.dynamics.com/.default"
    return httpx.post(f"{sandbox.base_url}/sandbox-tenant/oauth2/v2.0/token", data=form)


def api(sandbox: RunningSandbox) -> httpx.Client:
    bearer = token(sandbox).json()["access_token"]
    root = f"{sandbox.base_url}/v2.0/sandbox-tenant/production/api/v2.0"
    return httpx.Client(base_url=root, headers={"Authorization": f"Bearer {bearer}"})


def body(key: str, **changes: Any) -> dict[str, Any]:
    line = {
        "accountType": "G/L Account",
        "accountNumber": "6800",
        "postingDate": "2025-03-03",
        "amount": "10.00",
    }
    return line | {"externalDocumentNumber": key, "documentNumber": "AS-1"} | changes


def test_token_endpoint(dynamics_sandbox: RunningSandbox) -> None:
    granted = token(dynamics_sandbox).json()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] > 0
    refused = token(dynamics_sandbox, secret="wrong")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_api_refuses_without_a_valid_token(dynamics_sandbox: RunningSandbox) -> None:
    root = f"{dynamics_sandbox.base_url}/v2.0/sandbox-tenant/production/api/v2.0"
    response = httpx.get(
        f"{root}/companies({DEFAULT_COMPANY_ID})", headers={"Authorization": "Bearer forged"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Authentication_InvalidCredentials"


def test_unknown_company_and_journal(dynamics_sandbox: RunningSandbox) -> None:
    with api(dynamics_sandbox) as client:
        assert client.get(f"companies({DEFAULT_COMPANY_ID})").status_code == 200
        other = "11111111-2222-3333-4444-555555555555"
        assert client.get(f"companies({other})").status_code == 404
        missing = client.get(f"companies({DEFAULT_COMPANY_ID})/journals({other})")
        assert missing.status_code == 404 and "journal" in missing.json()["error"]["message"]


def test_batch_lines_succeed_or_fail_on_their_own(dynamics_sandbox: RunningSandbox) -> None:
    requests = [
        {"id": "1", "method": "POST", "url": LINES, "headers": IEEE, "body": body("k1")},
        {"id": "2", "method": "POST", "url": LINES, "headers": IEEE, "body": body("k2", amount="0")},
        {"id": "3", "method": "POST", "url": LINES, "headers": {}, "body": body("k3")},
    ]
    with api(dynamics_sandbox) as client:
        answers = client.post("$batch", json={"requests": requests}).json()["responses"]
        too_many = client.post("$batch", json={"requests": requests * 34})
    assert [(a["id"], a["status"]) for a in answers] == [("1", 201), ("2", 400), ("3", 400)]
    assert answers[1]["body"]["error"]["code"] == "Application_FieldValidationException"
    assert [p["externalDocumentNumber"] for p in dynamics_sandbox.postings()] == ["K1"]
    assert too_many.status_code == 400


def test_filter_and_server_driven_paging(dynamics_sandbox: RunningSandbox) -> None:
    with api(dynamics_sandbox) as client:
        for n in range(130):
            assert client.post(LINES, json=body(f"k{n % 2}'x"), headers=IEEE).status_code == 201
        seen: list[str] = []
        page = client.get(LINES, params={"$filter": "externalDocumentNumber in ('k0''x', 'k1''x')"}).json()
        while True:
            seen += [line["externalDocumentNumber"] for line in page["value"]]
            if "@odata.nextLink" not in page:
                break
            page = client.get(page["@odata.nextLink"]).json()
        one = client.get(LINES, params={"$filter": "externalDocumentNumber eq 'k1''x'"}).json()
    assert len(seen) == 130 and len(one["value"]) == 60 and "@odata.nextLink" in one


def test_window_limit_answers_429_with_retry_after() -> None:
    """DESIGN, limits: 6,000 requests per 5 minutes per user, then 429 with Retry-After."""
    with running_sandbox(DynamicsSandbox(requests_per_window=2)) as sandbox, api(sandbox) as client:
        answers = [client.get(f"companies({DEFAULT_COMPANY_ID})") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) > 200


def test_reset_fault_closes_the_connection(dynamics_sandbox: RunningSandbox) -> None:
    dynamics_sandbox.set_faults(resets=1)
    with api(dynamics_sandbox) as client, pytest.raises(httpx.RemoteProtocolError):
        client.post(LINES, json=body("k1"), headers=IEEE)
    assert dynamics_sandbox.postings() == []
