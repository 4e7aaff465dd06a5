"""Server-sent events: a run starting, progressing and ending, status changes, and notifications."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline.web.api import events
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import Api, Seeded


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


def test_an_org_stream_follows_a_run_from_start_to_end(api: Api, seeded: Seeded, monkeypatch: Any) -> None:
    monkeypatch.setattr(events, "POLL_SECONDS", 0.05)
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 3)

    def pipeline() -> None:
        steps = [
            lambda c: run_store.start_run(c, "r1", "hlf", "manual", "hlf.admin", NOW),
            lambda c: run_store.add_to_total(c, "r1", 3),
            lambda c: run_store.add_progress(c, "r1", 2, 0, 0),
            lambda c: run_store.finish_run(c, "r1", "success", NOW),
            lambda c: notification_store.insert_for(
                c, ["hlf.admin"], NotificationContent("hlf", "info", "Done", "b", "/orgs/hlf", "k"), NOW
            ),
        ]
        for step in steps:
            time.sleep(0.3)
            with api.engine.begin() as conn:
                step(conn)

    worker = threading.Thread(target=pipeline)
    worker.start()
    # status + notification at connect, then run x4 (+ status after each), then the notification.
    got = read_events(api, seeded, "/api/orgs/hlf/events", 11)
    worker.join()
    names = [name for name, _ in got]
    assert names[:2] == ["status", "notification"] and got[1][1]["unread"] == 0
    runs = [(d["status"], d["done"], d["total"]) for name, d in got if name == "run"]
    assert runs[0] == ("started", 0, 0) and runs[-1] == ("success", 2, 3)
    assert ("started", 0, 3) in runs
    assert (
        got[-1][0] == "notification" and got[-1][1]["unread"] == 1 and got[-1][1]["latest"]["title"] == "Done"
    )
    assert got[0][1]["running"] is None and any(name == "status" and d["running"] for name, d in got)


def test_a_stream_opened_during_a_run_starts_with_it(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        run_store.start_run(conn, "r1", "hlf", "manual", "hlf.admin", NOW)
        run_store.start_run(conn, "old", "hlf", "manual", "hlf.admin", NOW)
        run_store.finish_run(conn, "old", "success", NOW)
    got = read_events(api, seeded, "/api/events", 3)
    assert [name for name, _ in got] == ["run", "status", "notification"]
    assert got[0][1]["run_id"] == "r1" and got[1][1]["org_id"] == "hlf"
