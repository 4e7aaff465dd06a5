"""Live updates as server-sent events: `run` (started, progressed, ended), `status`, `notification`.

Any process may write what changes (Dagster runs, sensors, this service), so each stream polls
the database about once a second and sends an event when what it last sent has changed. A poll
is one statement reading change markers (`store.live_markers`); the status and the newest
notification are read only when a marker moved, so its cost does not grow with the org. The
first poll sends the current `status` (org streams) and `notification` count, and the org's
run if one is going on. `max_events` ends a stream after that many events (tests, scripts);
otherwise it ends when the client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import User
from accsync_pipeline.service.status import org_statuses
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store import live_markers
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.web.api.models import OrgStatusOut, errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, VisibleOrg, get_now

router = APIRouter(tags=["events"])
POLL_SECONDS = 1.0
STATUS_REFRESH = timedelta(seconds=30)
# Runs that ended shortly before a poll are still compared, so their end is never missed.
RECENT = timedelta(minutes=5)
Event = tuple[str, dict[str, Any]]

MaxEvents = Annotated[int | None, Query(ge=1, le=10_000, description="End the stream after this many events")]


def _run_data(row: Any) -> dict[str, Any]:
    data = {k: row._mapping[k] for k in ("run_id", "org_id", "trigger", "user_id", "status", "total", "done")}
    data |= {k: row._mapping[k] for k in ("exported", "skipped", "failed")}
    for key in ("started_at", "finished_at"):
        value = row._mapping[key]
        data[key] = value.isoformat() if value else None
    return data


class Watcher:
    """What one stream last sent; `poll` returns the events for what has changed since."""

    def __init__(self, engine: Engine, user: User, org_id: str | None, now: Callable[[], datetime]) -> None:
        self._engine, self._user, self._org_id, self._now = engine, user, org_id, now
        self._runs: dict[str, dict[str, Any]] = {}
        self._status: dict[str, dict[str, Any]] = {}
        self._notifications: tuple[int, int | None] | None = None
        self._first = True
        self._fingerprint: tuple[Any, ...] | None = None
        self._status_at: datetime | None = None
        self._claims: dict[str, str] = {}

    def poll(self) -> list[Event]:
        now = self._now()
        events: list[Event] = []
        with self._engine.connect() as conn:
            seen = live_markers.read(conn, self._user.user_id, self._org_id, now - RECENT)
            changed_orgs: set[str] = set()
            for row in seen.runs:
                data = _run_data(row)
                previous = self._runs.get(data["run_id"])
                # At connect, only a run that is going on is news.
                if data != previous and not (self._first and data["status"] != "started"):
                    events.append(("run", data))
                    changed_orgs.add(data["org_id"])
                self._runs[data["run_id"]] = data
            events += self._claim_events(conn, seen, changed_orgs)
            if self._org_id is None:
                watched = sorted(changed_orgs)
            else:
                watched = [self._org_id] if self._org_changed(seen, now, changed_orgs) else []
            if watched:
                for status in org_statuses(conn, now, watched):
                    data = OrgStatusOut.of(status).model_dump(mode="json")
                    if self._status.get(status.org_id) != data:
                        events.append(("status", data))
                        self._status[status.org_id] = data
            events += self._notification_events(conn, seen)
        self._first = False
        return events

    def _claim_events(
        self, conn: sa.Connection, seen: live_markers.Markers, changed_orgs: set[str]
    ) -> list[Event]:
        """A sync claimed by any process is queued from that moment: other screens hear it at once."""
        if self._org_id is None:
            claims = {c.org_id: (c.claim_token, c.run_id) for c in claim_store.all_claims(conn)}
        else:
            claims = {self._org_id: seen.claim} if seen.claim is not None else {}
        events: list[Event] = []
        for org_id, (token, run_id) in claims.items():
            if self._claims.get(org_id) != token and org_id not in self._open_orgs():
                events.append(("run", {"run_id": run_id, "org_id": org_id, "status": "queued"}))
                changed_orgs.add(org_id)
        self._claims = {k: token for k, (token, _) in claims.items()}
        return events

    def _open_orgs(self) -> set[str]:
        return {d["org_id"] for d in self._runs.values() if d["status"] == "started"}

    def _org_changed(self, seen: live_markers.Markers, now: datetime, changed_orgs: set[str]) -> bool:
        """Whether the watched org's status may have changed since it was last computed.

        The full status costs a few grouped queries; the markers (settings, newest state write,
        newest reconciliation) cost an index probe each, so a quiet poll costs the same for 500
        or 50,000 records. A write stamped no later than the newest one already seen, and time
        alone (health, the next run, records approved in the source and not yet taken in), are
        caught by recomputing at least every `STATUS_REFRESH`.
        """
        stale = self._status_at is None or now - self._status_at >= STATUS_REFRESH
        if not changed_orgs and seen.org == self._fingerprint and not stale:
            return False
        self._fingerprint, self._status_at = seen.org, now
        return True

    def _notification_events(self, conn: sa.Connection, seen: live_markers.Markers) -> list[Event]:
        if seen.notifications == self._notifications:
            return []
        newest = notification_store.list_for_user(conn, self._user.user_id, limit=1)
        self._notifications = seen.notifications
        latest = None
        if newest:
            n = newest[0]
            latest = {"notification_id": n.notification_id, "severity": n.severity, "title": n.title,
                      "link": n.link, "org_id": n.org_id, "created_at": n.created_at.isoformat()}  # fmt: skip
        return [("notification", {"unread": seen.notifications[0], "latest": latest})]


def _clock(request: Request) -> Callable[[], datetime]:
    """The clock itself, not one reading of it: a stream asks it again on every poll."""
    clock: Callable[[], datetime] = request.app.dependency_overrides.get(get_now, get_now)
    return clock


async def _stream(
    request: Request, watcher: Watcher, max_events: int | None
) -> AsyncIterator[ServerSentEvent]:
    sent = 0
    while not await request.is_disconnected():
        for name, data in await anyio.to_thread.run_sync(watcher.poll):
            yield ServerSentEvent(event=name, data=data)
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        await anyio.sleep(POLL_SECONDS)


@router.get("/orgs/{org_id}/events", response_class=EventSourceResponse, responses=errors(401, 404, 503))
async def org_events(
    request: Request, org: VisibleOrg, user: CurrentUser, engine: DbEngine, max_events: MaxEvents = None
) -> AsyncIterator[ServerSentEvent]:
    """The org's runs, status and the caller's notifications, as they change."""
    async for event in _stream(request, Watcher(engine, user, org.org_id, _clock(request)), max_events):
        yield event


@router.get("/events", response_class=EventSourceResponse, responses=errors(401, 503))
async def all_events(
    request: Request, user: CurrentUser, engine: DbEngine, max_events: MaxEvents = None
) -> AsyncIterator[ServerSentEvent]:
    """Every run the caller may see, the status of orgs whose runs change, and the caller's notifications."""
    org_id = None if user.is_global_admin else user.org_id
    async for event in _stream(request, Watcher(engine, user, org_id, _clock(request)), max_events):
        yield event
