"""Server-sent events: a run starting, progressing and ending, status changes, and notifications."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import reconciliations as reconciliation_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.notifications import NotificationContent
from accsync_pipeline.web.api import events
from accsync_pipeline_tests.factories import NOW, add_sources
from accsync_pipeline_tests.web.conftest import CLOCK, Api, Seeded, fail_records


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
    steps: list[Callable[[sa.Connection], object]] = [
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


class Clock:
    """A clock the test moves: writes stamped after what a stream has seen, as in production."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` inside the block."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_an_org_stream_hears_changes_made_outside_a_run(api: Api, seeded: Seeded) -> None:
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 3)
    clock = Clock(CLOCK)
    fail_records(api.engine, "hlf", ["R00000"], at=clock.tick())
    watcher = events.Watcher(api.engine, seeded.hlf_admin, "hlf", clock)
    first = dict(watcher.poll())
    assert (first["status"]["pending"], first["status"]["failed"]) == (2, 1)
    assert watcher.poll() == []

    with api.engine.begin() as conn:  # a manual retry: the failed record is pending again
        record_store.release_for_manual_retry(conn, "hlf", None, clock.tick())
    [(name, data)] = watcher.poll()
    assert name == "status" and (data["pending"], data["failed"]) == (3, 0)

    with api.engine.begin() as conn:  # settings saved
        org = org_store.get_org(conn, "hlf")
        org_store.update_org(conn, dataclasses.replace(org, name="HLF renamed"), clock.tick())
    [(name, data)] = watcher.poll()
    assert name == "status" and data["name"] == "HLF renamed"

    with api.engine.begin() as conn:  # a ledger reconciliation that could not read the ledger
        reconciliation_store.save(conn, "hlf", clock.tick(), "manual", None, None, error="ledger unreachable")
    [(name, data)] = watcher.poll()
    assert name == "status" and data["reconciliation"] is not None

    with api.engine.begin() as conn:  # another process claims a sync: queued at once
        claim_store.try_claim(conn, "hlf", "token-1", "r9", clock.tick())
    got = watcher.poll()
    assert got[0] == ("run", {"run_id": "r9", "org_id": "hlf", "status": "queued"})
    clock.tick()
    assert watcher.poll() == []


def test_a_quiet_poll_is_one_statement_however_many_records_the_org_holds(api: Api, seeded: Seeded) -> None:
    clock = Clock(CLOCK)
    watcher = events.Watcher(api.engine, seeded.hlf_admin, "hlf", clock)
    for size in (3, 300):
        with api.engine.begin() as conn:
            add_sources(conn, "hlf", size, prefix=f"S{size}-")
            record_store.intake(conn, "hlf", clock.tick())
        assert [name for name, _ in watcher.poll()][:1] == ["status"]  # the new records are news
        clock.tick()
        with statements(api.engine) as sent:
            assert watcher.poll() == []
        assert len(sent) == 1, sent


def test_the_status_is_recomputed_every_30_seconds_even_when_no_marker_moved(
    api: Api, seeded: Seeded
) -> None:
    clock = Clock(CLOCK)
    watcher = events.Watcher(api.engine, seeded.hlf_admin, "hlf", clock)
    assert dict(watcher.poll())["status"]["pending"] == 0
    # Records approved in the source and not yet taken in move no marker: they count as pending
    # from the next full recompute.
    with api.engine.begin() as conn:
        add_sources(conn, "hlf", 2)
    clock.tick(10)
    watcher.poll()
    clock.tick(events.STATUS_REFRESH.total_seconds())
    assert [(name, data["pending"]) for name, data in watcher.poll()] == [("status", 2)]
