"""Scope: an org administrator gets nothing of another org, on any route, and cannot tell if it exists."""

from __future__ import annotations

from typing import Any

import pytest

from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import Api, Seeded, fail_records, json_of

# Every route under /api/orgs/{org_id}, with a request body where one is needed.
ORG_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/orgs/{org_id}/status", None),
    ("GET", "/api/orgs/{org_id}/sync/preview", None),
    ("POST", "/api/orgs/{org_id}/sync", None),
    ("GET", "/api/orgs/{org_id}/runs/{run_id}", None),
    ("GET", "/api/orgs/{org_id}/history", None),
    ("GET", "/api/orgs/{org_id}/records", None),
    ("GET", "/api/orgs/{org_id}/records/{record_id}/history", None),
    ("GET", "/api/orgs/{org_id}/records.csv", None),
    ("GET", "/api/orgs/{org_id}/runs/{run_id}/records.csv", None),
    ("POST", "/api/orgs/{org_id}/runs/{run_id}/cancel", None),
    ("POST", "/api/orgs/{org_id}/retry", {"record_ids": None}),
    ("GET", "/api/orgs/{org_id}/settings", None),
    ("PUT", "/api/orgs/{org_id}/settings", {"schedule": {"kind": "manual"}}),
    ("GET", "/api/orgs/{org_id}/integration", None),
    ("PATCH", "/api/orgs/{org_id}/integration", {"enabled": False}),
    ("POST", "/api/orgs/{org_id}/integration/test", None),
    ("GET", "/api/orgs/{org_id}/events", None),
]


def test_every_org_route_is_covered(api: Api) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in api.app.openapi()["paths"].items()
        if "{org_id}" in path
        for method in operations
    }
    assert routes == {(m, p) for m, p, _ in ORG_ROUTES}


@pytest.mark.parametrize(("method", "path", "body"), ORG_ROUTES, ids=[f"{m} {p}" for m, p, _ in ORG_ROUTES])
def test_another_org_answers_exactly_like_a_missing_one(
    api: Api, seeded: Seeded, method: str, path: str, body: dict[str, Any] | None
) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "other", 3, prefix="O")
    fail_records(api.engine, "other", ["O00000"], run_id="other-run")
    client = api.client(seeded.hlf_admin)
    answers = []
    for org_id in ("other", "no_such_org"):
        url = path.format(org_id=org_id, run_id="other-run", record_id="O00000")
        response = client.request(method, url, json=body, params={"max_events": 1})
        answers.append((response.status_code, response.json(), response.headers.get("content-type")))
    assert answers[0] == answers[1] == (404, {"detail": "organization not found"}, "application/json")
    # Nothing happened to the other org either.
    assert api.launcher.launched == [] and api.applied == []
    other = json_of(
        api.client(seeded.other_admin).get("/api/orgs/other/records", params={"status": "failed"})
    )
    assert [r["record_id"] for r in other["records"]] == ["O00000"]
    assert json_of(api.client(seeded.other_admin).get("/api/orgs/other/integration"))["enabled"] is True


def test_the_org_list_shows_only_the_callers_org(api: Api, seeded: Seeded) -> None:
    own = json_of(api.client(seeded.hlf_admin).get("/api/orgs"))
    assert [o["org_id"] for o in own["orgs"]] == ["hlf"] and own["summary"]["orgs"] == 1
    every = json_of(api.client(seeded.global_admin).get("/api/orgs"))
    assert [o["org_id"] for o in every["orgs"]] == ["hlf", "other"]


def test_a_global_administrator_sees_every_org(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.global_admin)
    for org_id in ("hlf", "other"):
        assert json_of(client.get(f"/api/orgs/{org_id}/status"))["org_id"] == org_id
    assert client.get("/api/orgs/no_such_org/status").status_code == 404


def test_only_a_global_administrator_creates_orgs(api: Api, seeded: Seeded) -> None:
    body = {"org_id": "new_org", "name": "New", "connector_type": "xledger", "connector_settings": {}}
    response = api.client(seeded.hlf_admin).post("/api/orgs", json=body)
    assert response.status_code == 403
    assert api.client(seeded.global_admin).get("/api/orgs/new_org/status").status_code == 404


def test_another_users_notification_is_not_found(api: Api, seeded: Seeded) -> None:
    content = NotificationContent("other", "warning", "Other failing", "body", "/orgs/other", "k1")
    with api.engine.begin() as conn:
        notification_store.insert_for(conn, [seeded.other_admin.user_id], content, NOW)
        [theirs] = notification_store.list_for_user(conn, seeded.other_admin.user_id)
    client = api.client(seeded.hlf_admin)
    assert json_of(client.get("/api/notifications")) == []
    missing = client.post("/api/notifications/999999/read")
    response = client.post(f"/api/notifications/{theirs.notification_id}/read")
    assert response.status_code == missing.status_code == 404 and response.json() == missing.json()
    assert json_of(api.client(seeded.other_admin).get("/api/notifications/unread-count")) == {"unread": 1}


def test_an_org_administrators_event_stream_carries_only_their_org(api: Api, seeded: Seeded) -> None:
    from accsync_pipeline.store import runs as run_store

    with api.engine.begin() as conn:
        run_store.start_run(conn, "other-run", "other", "manual", "other.admin", NOW)
        run_store.start_run(conn, "hlf-run", "hlf", "manual", "hlf.admin", NOW)
    with api.client(seeded.hlf_admin).stream("GET", "/api/events", params={"max_events": 3}) as response:
        text = response.read().decode()
    assert "hlf-run" in text and "other" not in text
