"""Server-sent events: a run starting, progressing and ending, status changes, and notifications."""

from __future__ import annotations

import json
from typing import Any

from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline.web.api import events
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import CLOCK, Api, Seeded


def parse(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def read_events(api: Api, seeded: Seeded, url: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    client = api.client(seeded.hlf_admin)
    with client.stream("GET", url, params={"max_events": count}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse(response.read().decode())


def test_an_org_stream_follows_a_run_from_start_to_end(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 3)
    watcher = events.Watcher(api.engine, seeded.hlf_admin, "hlf", lambda: CLOCK)
    first = watcher.poll()
    assert [name for name, _ in first] == ["status", "notification"]
    assert first[0][1]["pending"] == 3 and first[1][1] == {"unread": 0, "latest": None}
    assert watcher.poll() == []  # nothing changed, nothing sent
    steps = [
        lambda c: run_store.start_run(c, "r1", "hlf", "manual", "hlf.admin", NOW),
        lambda c: run_store.add_to_total(c, "r1", 3),
        lambda c: run_store.add_progress(c, "r1", 2, 0, 0),
        lambda c: run_store.finish_run(c, "r1", "success", NOW),
    ]
    runs = []
    for step in steps:
        with api.engine.begin() as conn:
            step(conn)
        got = watcher.poll()
        assert [name for name, _ in got][:1] == ["run"]
        runs.append((got[0][1]["status"], got[0][1]["done"], got[0][1]["total"]))
    assert runs == [("started", 0, 0), ("started", 0, 3), ("started", 2, 3), ("success", 2, 3)]
    with api.engine.begin() as conn:
        content = NotificationContent("hlf", "info", "Done", "b", "/orgs/hlf", "k")
        notification_store.insert_for(conn, ["hlf.admin"], content, NOW)
    [(name, data)] = watcher.poll()
    assert name == "notification" and data["unread"] == 1 and data["latest"]["title"] == "Done"


def test_a_stream_opened_during_a_run_starts_with_it(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        run_store.start_run(conn, "r1", "hlf", "manual", "hlf.admin", NOW)
        run_store.start_run(conn, "old", "hlf", "manual", "hlf.admin", NOW)
        run_store.finish_run(conn, "old", "success", NOW)
    got = read_events(api, seeded, "/api/events", 3)
    assert [name for name, _ in got] == ["run", "status", "notification"]
    assert got[0][1]["run_id"] == "r1" and got[1][1]["org_id"] == "hlf"
