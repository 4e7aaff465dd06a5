"""Record lists searched, filtered, sorted, paged and summed in SQL; CSV downloads; on both databases."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import record_search
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.record_search import RecordSearch, RecordSort, RecordView
from accsync_pipeline_tests.factories import NOW, add_source
from accsync_pipeline_tests.web.conftest import Api, Seeded, fail_records, json_of

VOLUNTEERS = ["Kari Nordmann", "Ola Hansen", "Åse Øvrebø", "Per Olsen"]


def hlf_records(api: Api, count: int = 40) -> list[str]:
    """`count` records of HLF with distinct volunteers, amounts and dates; one of Other's."""
    ids = []
    with api.engine.begin() as conn:
        for i in range(count):
            rid = f"HLF-{i:04d}"
            add_source(
                conn,
                rid,
                person_name=VOLUNTEERS[i % 4],
                amount=Decimal(100 + i) + Decimal("0.25"),
                expense_date=date(2026, 10, 1) + timedelta(days=i),
            )
            ids.append(rid)
        add_source(conn, "OTHER-1", "other", person_name="Kari Nordmann")
    return ids


def export(api: Api, ids: list[str], run_id: str) -> None:
    with api.engine.begin() as conn:
        record_store.intake(conn, "hlf", NOW)
        run_store.start_run(conn, run_id, "hlf", "schedule", None, NOW)
        results = [record_store.RecordResult(r, "hlf", SyncStatus.EXPORTED, external_id=f"X{r}") for r in ids]
        record_store.write_results(conn, results, run_id, "schedule", NOW)
        run_store.add_progress(conn, run_id, len(ids), 0, 0)
        run_store.finish_run(conn, run_id, "success", NOW)


def test_pages_are_cut_in_sql_and_the_total_and_money_cover_every_page(api: Api, seeded: Seeded) -> None:
    ids = hlf_records(api)
    client = api.client(seeded.hlf_admin)
    first = json_of(client.get("/api/orgs/hlf/records", params={"status": "pending", "per_page": 25}))
    second = json_of(
        client.get("/api/orgs/hlf/records", params={"status": "pending", "per_page": 25, "page": 2})
    )
    assert first["total"] == second["total"] == 40
    assert [r["record_id"] for r in first["records"]] == ids[:25]
    assert [r["record_id"] for r in second["records"]] == ids[25:]
    # 100.25 + 101.25 + ... + 139.25, exact: never a float's rounding.
    expected = sum((Decimal(100 + i) + Decimal("0.25") for i in range(40)), Decimal(0))
    assert first["money"] == {"NOK": f"{expected:.2f}"} == {"NOK": "4790.00"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "øvrebø"}, [f"HLF-{i:04d}" for i in range(2, 40, 4)]),
        ({"q": "hlf-0007"}, ["HLF-0007"]),
        ({"q": "107,25"}, ["HLF-0007"]),
        ({"q": "kr 107.25"}, ["HLF-0007"]),
        ({"from": "2026-10-05", "to": "2026-10-07"}, ["HLF-0004", "HLF-0005", "HLF-0006"]),
        ({"min": "137", "max": "1 000 000"}, ["HLF-0037", "HLF-0038", "HLF-0039"]),
        ({"records": "HLF-0001,HLF-0003,OTHER-1"}, ["HLF-0001", "HLF-0003"]),
        ({"q": "100%"}, []),
    ],
)
def test_one_search_box_finds_by_volunteer_id_or_amount_and_filters_combine(
    api: Api, seeded: Seeded, params: dict[str, str], expected: list[str]
) -> None:
    hlf_records(api)
    body = json_of(
        api.client(seeded.hlf_admin).get("/api/orgs/hlf/records", params={"per_page": 200, **params})
    )
    assert [r["record_id"] for r in body["records"]] == expected
    assert body["total"] == len(expected)


def test_error_text_and_code_are_searchable_and_views_split_the_records(api: Api, seeded: Seeded) -> None:
    ids = hlf_records(api, 10)
    export(api, ids[:4], "run-a")
    fail_records(api.engine, "hlf", ids[4:6], error="G/L account 9999 does not exist")
    with api.engine.begin() as conn:
        record_store.write_results(
            conn,
            [record_store.RecordResult(ids[6], "hlf", SyncStatus.SKIPPED, skip_reason="no employee number")],
            "run-b",
            "schedule",
            NOW,
        )
    client = api.client(seeded.hlf_admin)

    def found(**params: str) -> list[str]:
        return [
            r["record_id"] for r in json_of(client.get("/api/orgs/hlf/records", params=params))["records"]
        ]

    assert found(q="account 9999") == ids[4:6]
    assert found(q="FieldValidation") == ids[4:6]  # the ledger's own error code
    assert found(q="employee number") == [ids[6]]
    assert found(status="failed") == ids[4:6]
    assert found(status="skipped") == [ids[6]]
    assert found(status="exported") == ids[:4]
    assert found(status="pending") == ids[7:]
    assert found(status="exported", q="9999") == []
    with api.engine.connect() as conn:
        counts = record_search.view_counts(conn, "hlf")
    assert {v.value: n for v, n in counts.items()} == {
        "failed": 2, "pending": 3, "skipped": 1, "exported": 4, "all": 10,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sort", "direction", "first"),
    [
        ("amount", "desc", "HLF-0039"),
        ("amount", "asc", "HLF-0000"),
        ("date", "desc", "HLF-0039"),
        ("volunteer", "asc", "HLF-0000"),  # Kari before Ola, Per and Åse
        ("record", "desc", "HLF-0039"),
    ],
)
def test_lists_sort_by_any_column_in_either_direction(
    api: Api, seeded: Seeded, sort: str, direction: str, first: str
) -> None:
    hlf_records(api)
    body = json_of(
        api.client(seeded.hlf_admin).get("/api/orgs/hlf/records", params={"sort": sort, "dir": direction})
    )
    assert body["records"][0]["record_id"] == first


def test_sorting_by_volunteer_keeps_record_order_within_a_name(api: Api, seeded: Seeded) -> None:
    hlf_records(api, 8)
    with api.engine.connect() as conn:
        rows = record_search.page_of_records(conn, RecordSearch("hlf", sort=RecordSort.VOLUNTEER, limit=8))
    assert [r["record_id"] for r in rows][:2] == ["HLF-0000", "HLF-0004"]


def test_a_bad_amount_is_said_not_a_500_and_bad_paging_is_refused(api: Api, seeded: Seeded) -> None:
    hlf_records(api, 3)
    client = api.client(seeded.hlf_admin)
    assert json_of(client.get("/api/orgs/hlf/records", params={"min": "abc"}))["total"] == 3
    # A search form sends its empty fields too: they filter nothing.
    empty = {"q": "", "from": "", "to": "", "min": "", "max": ""}
    assert json_of(client.get("/api/orgs/hlf/records", params=empty))["total"] == 3
    assert json_of(client.get("/api/orgs/hlf/records", params={"from": "31.12.2026"}))["total"] == 3
    for params in ({"page": "0"}, {"per_page": "5000"}, {"dir": "sideways"}, {"sort": "password"}):
        assert client.get("/api/orgs/hlf/records", params=params).status_code == 422


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_downloads_the_whole_list_as_filtered_not_one_page(api: Api, seeded: Seeded) -> None:
    ids = hlf_records(api)
    response = api.client(seeded.hlf_admin).get(
        "/api/orgs/hlf/records.csv", params={"q": "Kari", "sort": "amount", "dir": "desc", "per_page": 25}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response.text)
    kari = [ids[i] for i in range(0, 40, 4)]
    assert [r["record_id"] for r in rows] == list(reversed(kari))
    assert rows[0]["amount"] == "136.25" and rows[0]["volunteer"] == "Kari Nordmann"
    assert "OTHER-1" not in response.text


def test_csv_cells_never_run_as_spreadsheet_formulas(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        add_source(conn, "R1", person_name='=HYPERLINK("http://evil")', description="+1 taxi")
    rows = _csv(api.client(seeded.hlf_admin).get("/api/orgs/hlf/records.csv").text)
    assert rows[0]["volunteer"].startswith("'=") and rows[0]["description"] == "'+1 taxi"


def test_global_admins_see_initials_and_other_orgs_are_not_found(api: Api, seeded: Seeded) -> None:
    hlf_records(api, 2)
    rows = _csv(api.client(seeded.global_admin).get("/api/orgs/hlf/records.csv").text)
    assert rows[0]["volunteer"] == "K. N."
    other = api.client(seeded.other_admin)
    assert other.get("/api/orgs/hlf/records.csv").status_code == 404
    assert other.get("/api/orgs/hlf/records", params={"q": "Kari"}).status_code == 404


def test_a_runs_report_lists_its_records_with_outcomes_and_money(api: Api, seeded: Seeded) -> None:
    ids = hlf_records(api, 6)
    export(api, ids[:3], "run-report")
    client = api.client(seeded.hlf_admin)
    rows = _csv(client.get("/api/orgs/hlf/runs/run-report/records.csv").text)
    assert [(r["record_id"], r["outcome"], r["amount"]) for r in rows] == [
        ("HLF-0000", "exported", "100.25"),
        ("HLF-0001", "exported", "101.25"),
        ("HLF-0002", "exported", "102.25"),
    ]
    with api.engine.connect() as conn:
        assert record_search.run_money(conn, ["run-report"]) == {
            "run-report": {"exported": {"NOK": Decimal("303.75")}}
        }
    assert api.client(seeded.other_admin).get("/api/orgs/hlf/runs/run-report/records.csv").status_code == 404
    assert client.get("/api/orgs/hlf/runs/no-such-run/records.csv").status_code == 404


def test_the_store_search_is_one_org_only(api: Api, seeded: Seeded) -> None:
    hlf_records(api, 3)
    with api.engine.connect() as conn:
        assert record_search.count_records(conn, RecordSearch("other", text="Kari")) == 1
        assert record_search.count_records(conn, RecordSearch("hlf", view=RecordView.FAILED)) == 0


def page(api: Api, user: object, path: str, **params: str) -> str:
    from accsync_pipeline.web.auth import COOKIE_NAME

    client = api.client()
    client.cookies.set(COOKIE_NAME, api.token(user))  # type: ignore[arg-type]
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return str(response.text)


def test_the_status_screen_lists_one_page_with_the_filter_in_its_links(api: Api, seeded: Seeded) -> None:
    hlf_records(api)
    html = page(api, seeded.hlf_admin, "/orgs/hlf", status="pending", q="Kari", per_page="25", sort="amount")
    assert "1–10 of 10 records" in html
    assert (
        'href="/api/orgs/hlf/records.csv?status=pending&amp;q=Kari&amp;sort=amount&amp;per_page=25"' in html
    )
    assert html.count('class="record-checkbox"') == 0 and html.count("<tr data-record-id=") == 10
    paged = page(api, seeded.hlf_admin, "/orgs/hlf", status="all", per_page="25", page="2")
    assert "26–40 of 40 records" in paged and 'id="page-prev"' in paged and 'id="page-next"' not in paged
    assert "kr\u00a04\u00a0790,00" in page(api, seeded.hlf_admin, "/orgs/hlf", status="all")
