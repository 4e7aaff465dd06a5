"""Business Central as it really behaves: each quirk of the sandbox, shown in raw HTTP.

Each test names the point of DESIGN.md ("Wire contracts", Business Central) it guards.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest

from accsync_pipeline.sandbox.dynamics import DEFAULT_COMPANY_ID, DEFAULT_JOURNAL_ID, DynamicsSandbox
from accsync_pipeline.sandbox.dynamics_quirks import ALL_QUIRKS, MAX_URL_LENGTH, Quirk
from accsync_pipeline.sandbox.server import RunningSandbox, running_sandbox
from accsync_pipeline_tests.sandbox.test_dynamics_sandbox import api

JOURNAL = f"companies({DEFAULT_COMPANY_ID})/journals({DEFAULT_JOURNAL_ID})"
ENTRIES = f"companies({DEFAULT_COMPANY_ID})/generalLedgerEntries"


def line(key: str, document: str = "as-1", **changes: Any) -> dict[str, Any]:
    return {
        "accountType": "G/L Account",
        "accountNumber": "6800ab",
        "postingDate": "2025-03-03",
        "documentNumber": document,
        "externalDocumentNumber": key,
        "amount": 10.25,
        "balanceAccountType": "Employee",
        "balancingAccountNumber": "e10001",
    } | changes


def rows(client: httpx.Client, url: str, **params: str) -> list[dict[str, Any]]:
    """Every row of a collection, following @odata.nextLink."""
    page = client.get(url, params=params).json()
    found = list(page["value"])
    while "@odata.nextLink" in page:
        page = client.get(page["@odata.nextLink"]).json()
        found += page["value"]
    return found


def add(client: httpx.Client, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        answer = client.post(f"{JOURNAL}/journalLines", json=body)
        assert answer.status_code == 201, answer.text


def test_code_fields_come_back_upper_cased_and_match_any_case(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: Code fields are stored upper-case; keys must be compared without regard to case."""
    with api(dynamics_sandbox) as client:
        created = client.post(f"{JOURNAL}/journalLines", json=line("accsync-hlf-r1", "as-r1")).json()
        found = rows(
            client, f"{JOURNAL}/journalLines", **{"$filter": "externalDocumentNumber eq 'AcCsYnC-hLf-R1'"}
        )
    for answer in (created, found[0]):
        assert answer["externalDocumentNumber"] == "ACCSYNC-HLF-R1" and answer["documentNumber"] == "AS-R1"
        assert answer["accountNumber"] == "6800AB" and answer["balancingAccountNumber"] == "E10001"
    assert len(found) == 1


def test_without_the_upper_case_quirk_codes_keep_their_case(sandbox_secrets: None) -> None:
    """The quirk switched off, only to show the difference it makes."""
    kind = DynamicsSandbox(quirks=ALL_QUIRKS - {Quirk.UPPER_CASE_CODES})
    with running_sandbox(kind) as sandbox, api(sandbox) as client:
        add(client, line("accsync-hlf-r1"))
        found = rows(
            client, f"{JOURNAL}/journalLines", **{"$filter": "externalDocumentNumber eq 'ACCSYNC-HLF-R1'"}
        )
        assert found == [] and sandbox.postings()[0]["externalDocumentNumber"] == "accsync-hlf-r1"


def test_in_filter_is_ignored_and_returns_the_whole_table(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: `$filter=... in (...)` is ignored in API v2.0 (needs $schemaversion=2.1), no error."""
    with api(dynamics_sandbox) as client:
        add(client, line("k1"), line("k2"), line("k3"))
        ignored = rows(client, f"{JOURNAL}/journalLines", **{"$filter": "externalDocumentNumber in ('K1')"})
        honoured = rows(
            client,
            f"{JOURNAL}/journalLines",
            **{"$filter": "externalDocumentNumber in ('k1')", "$schemaversion": "2.1"},
        )
        chained = rows(
            client,
            f"{JOURNAL}/journalLines",
            **{"$filter": "(externalDocumentNumber eq 'k1') or externalDocumentNumber eq 'K3'"},
        )
        garbled = client.get(
            f"{JOURNAL}/journalLines", params={"$filter": "externalDocumentNumber eq 'k1' and"}
        )
    assert len(ignored) == 3
    assert [r["externalDocumentNumber"] for r in honoured] == ["K1"]
    assert sorted(r["externalDocumentNumber"] for r in chained) == ["K1", "K3"]
    assert garbled.status_code == 400


def test_a_url_longer_than_the_limit_is_refused(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: use eq/or in chunks that keep the URL short (the sandbox refuses beyond 2,048)."""
    long_filter = " or ".join(f"externalDocumentNumber eq 'ACCSYNC-HLF-R{n}'" for n in range(60))
    with api(dynamics_sandbox) as client:
        direct = client.get(f"{JOURNAL}/journalLines", params={"$filter": long_filter})
        batched = client.post(
            "$batch",
            json={
                "requests": [
                    {"id": "1", "method": "GET", "url": f"{JOURNAL}/journalLines?$filter={long_filter}"}
                ]
            },
        ).json()["responses"][0]
    assert len(long_filter) > MAX_URL_LENGTH
    assert direct.status_code == 400 and batched["status"] == 400


def test_posting_the_journal_moves_lines_to_ledger_entries(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: posted lines leave journalLines and appear as generalLedgerEntries, without
    externalDocumentNumber; one line with an Employee balancing account makes two entries."""
    with api(dynamics_sandbox) as client:
        add(client, line("k1", "as-1"), line("k2", "as-2", amount=-3.5))
        assert client.post(f"{JOURNAL}/Microsoft.NAV.post").status_code == 204
        left = rows(client, f"{JOURNAL}/journalLines")
        entries = rows(client, ENTRIES, **{"$filter": "documentNumber eq 'as-1'"})
        every = rows(client, ENTRIES)
    assert left == [] and len(every) == 4
    assert [(e["documentNumber"], e["debitAmount"], e["creditAmount"]) for e in entries] == [
        ("AS-1", 10.25, 0),
        ("AS-1", 0, 10.25),
    ]
    assert all("externalDocumentNumber" not in e for e in every)
    assert entries[0]["accountNumber"] == "6800AB" and entries[0]["entryNumber"] < entries[1]["entryNumber"]
    inspected = dynamics_sandbox.postings()
    assert [(p["externalDocumentNumber"], p["state"]) for p in inspected] == [
        ("K1", "posted"),
        ("K2", "posted"),
    ]


def test_control_endpoint_and_auto_post_fault(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: an accountant may post the journal at any moment, also in the middle of a sync."""
    dynamics_sandbox.set_faults(post_journal_every=2)
    with api(dynamics_sandbox) as client:
        add(client, line("k1", "d1"), line("k2", "d2"), line("k3", "d3"))
        in_journal = rows(client, f"{JOURNAL}/journalLines")
        assert [r["externalDocumentNumber"] for r in in_journal] == ["K3"]
        posted = httpx.post(f"{dynamics_sandbox.base_url}/_sandbox/journal/post").json()
        assert posted == {"posted": 1} and rows(client, f"{JOURNAL}/journalLines") == []
    entries = httpx.get(f"{dynamics_sandbox.base_url}/_sandbox/ledger-entries").json()
    assert entries["count"] == 6 and dynamics_sandbox.stats()["postings"] == 3


def test_ledger_entries_page_through_next_link(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: server-driven paging through @odata.nextLink (the test sandbox pages by 60)."""
    with api(dynamics_sandbox) as client:
        add(client, *(line(f"k{n}", f"d{n}") for n in range(40)))
        client.post(f"{JOURNAL}/Microsoft.NAV.post")
        first = client.get(ENTRIES).json()
        every = rows(client, ENTRIES)
    assert len(first["value"]) == 60 and "@odata.nextLink" in first and len(every) == 80


def test_a_journal_batch_with_a_no_series_renumbers_on_posting(sandbox_secrets: None) -> None:
    """DESIGN: the journal batch must have no No. Series, else BC renumbers our document numbers;
    the journal entity does not show it."""
    with running_sandbox(DynamicsSandbox(no_series="G00009")) as sandbox, api(sandbox) as client:
        journal = client.get(JOURNAL).json()
        add(client, line("k1", "as-1"), line("k2", "as-2"))
        client.post(f"{JOURNAL}/Microsoft.NAV.post")
        documents = [e["documentNumber"] for e in rows(client, ENTRIES)]
        by_ours = rows(client, ENTRIES, **{"$filter": "documentNumber eq 'AS-1'"})
    assert set(journal) == {
        "id",
        "code",
        "displayName",
        "templateDisplayName",
        "balancingAccountId",
        "balancingAccountNumber",
        "lastModifiedDateTime",
    }
    assert documents == ["G00009", "G00009", "G00010", "G00010"] and by_ours == []


def test_more_than_five_requests_at_once_queue_instead_of_429(sandbox_secrets: None) -> None:
    """DESIGN: 5 requests processed at once, more are queued (queue of 95; beyond it 429)."""
    with running_sandbox(DynamicsSandbox(max_concurrent=2, queue_size=3)) as sandbox, api(sandbox) as client:
        sandbox.set_faults(latency_ms=200)
        statuses = concurrent_gets(client, 5)
        assert statuses == [200] * 5 and sandbox.stats()["peak_concurrency"] == 2
        statuses = concurrent_gets(client, 8)
    assert sorted(statuses) == [200] * 5 + [429] * 3


def test_a_request_queued_too_long_gets_503_with_retry_after(sandbox_secrets: None) -> None:
    """DESIGN: queued over the maximum time (8 min in BC; short here) → 503; honour Retry-After."""
    sandbox_options = {"max_concurrent": 1, "max_queue_seconds": 0.1, "queue_retry_after": 7.0}
    with running_sandbox(DynamicsSandbox(**sandbox_options)) as sandbox, api(sandbox) as client:  # type: ignore[arg-type]
        sandbox.set_faults(latency_ms=400)
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: answers.append(client.get(JOURNAL))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    late = [a for a in answers if a.status_code == 503]
    assert len(late) == 1 and late[0].headers["Retry-After"] == "7"


def concurrent_gets(client: httpx.Client, count: int) -> list[int]:
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(client.get(JOURNAL).status_code))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.parametrize(
    ("amount", "headers", "status"),
    [
        (Decimal("1234567890.10"), {}, 201),
        (12, {}, 201),
        ("10.00", {}, 400),
        ("10.00", {"Content-Type": "application/json; IEEE754Compatible=true"}, 201),
        (Decimal("10.005"), {}, 400),
    ],
    ids=["number", "integer", "string", "string-ieee754", "three-decimals"],
)
def test_amounts_are_json_numbers(
    dynamics_sandbox: RunningSandbox, amount: Any, headers: dict[str, str], status: int
) -> None:
    """DESIGN: `amount` is a JSON number in the documented examples; strings only under IEEE754Compatible."""
    body = line("k1") | {"amount": "@AMOUNT@"}
    content = httpx.Request("POST", "/", json=body).content.decode().replace('"@AMOUNT@"', _json(amount))
    with api(dynamics_sandbox) as client:
        answer = client.post(
            f"{JOURNAL}/journalLines", content=content, headers={"Content-Type": "application/json"} | headers
        )
    assert answer.status_code == status, answer.text
    if status == 201:
        assert Decimal(str(answer.json()["amount"])) == Decimal(str(amount))
        assert dynamics_sandbox.postings()[0]["amount"] == str(Decimal(str(amount)).quantize(Decimal("0.01")))


def _json(amount: Any) -> str:
    return f'"{amount}"' if isinstance(amount, str) else str(amount)


def test_rejected_keys_match_without_regard_to_case(dynamics_sandbox: RunningSandbox) -> None:
    """DESIGN: keys compared without regard to case (fault `reject_keys` names keys as sent)."""
    dynamics_sandbox.set_faults(reject_keys={"accsync-hlf-r5": "Application_FieldValidationException"})
    with api(dynamics_sandbox) as client:
        answer = client.post(f"{JOURNAL}/journalLines", json=line("ACCSYNC-HLF-R5"))
    assert (
        answer.status_code == 400 and answer.json()["error"]["code"] == "Application_FieldValidationException"
    )


def test_a_batched_url_counts_with_the_api_root_it_resolves_against(dynamics_sandbox: RunningSandbox) -> None:
    """The limit applies to the target BC resolves: API root and relative URL together."""
    root_path = "/v2.0/sandbox-tenant/production/api/v2.0/"
    relative = f"{JOURNAL}/journalLines?$filter=externalDocumentNumber eq 'K'&$select=id"

    def padded(length: int) -> str:
        return relative.replace("'K'", "'K" + "X" * (length - len(root_path) - len(relative)) + "'")

    requests = [
        {"id": "fits", "method": "GET", "url": padded(MAX_URL_LENGTH)},
        {"id": "over", "method": "GET", "url": padded(MAX_URL_LENGTH + 1)},
    ]
    with api(dynamics_sandbox) as client:
        answers = client.post("$batch", json={"requests": requests}).json()["responses"]
    assert len(padded(MAX_URL_LENGTH + 1)) < MAX_URL_LENGTH  # alone, the relative URL would pass
    assert [(a["id"], a["status"]) for a in answers] == [("fits", 200), ("over", 400)]
