"""The current user's notifications: list, unread count, mark one and all read."""

from __future__ import annotations

from datetime import timedelta

from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline_tests.factories import NOW
from accsync_pipeline_tests.web.conftest import Api, Seeded, json_of


def notify(api: Api, user_id: str, key: str, minutes: int) -> None:
    content = NotificationContent(
        "hlf", "warning", f"Title {key}", "body", "/orgs/hlf?status=failed&records=R1", key
    )
    with api.engine.begin() as conn:
        notification_store.insert_for(conn, [user_id], content, NOW + timedelta(minutes=minutes))


def test_list_count_and_mark_read(api: Api, seeded: Seeded) -> None:
    for i in range(3):
        notify(api, seeded.hlf_admin.user_id, f"k{i}", i)
    client = api.client(seeded.hlf_admin)
    listed = json_of(client.get("/api/notifications"))
    assert [n["title"] for n in listed] == ["Title k2", "Title k1", "Title k0"]
    assert listed[0]["link"] == "/orgs/hlf?status=failed&records=R1" and listed[0]["read_at"] is None
    assert json_of(client.get("/api/notifications/unread-count")) == {"unread": 3}
    assert json_of(client.post(f"/api/notifications/{listed[0]['notification_id']}/read")) == {"marked": 1}
    assert json_of(client.post(f"/api/notifications/{listed[0]['notification_id']}/read")) == {"marked": 0}
    assert [n["title"] for n in json_of(client.get("/api/notifications", params={"unread": True}))] == [
        "Title k1",
        "Title k0",
    ]
    assert json_of(client.post("/api/notifications/read-all")) == {"marked": 2}
    assert json_of(client.get("/api/notifications/unread-count")) == {"unread": 0}
    assert client.post("/api/notifications/2147483648/read").status_code == 422
