"""Every org's records awaiting intake, read once and reused while nothing they depend on has changed.

The all-orgs list (refreshed every 10 s by each open screen) and the alert sensor's 48-hour rule
both count, for every org, the source rows after its intake mark that intake would make pending.
That count probes a state row for each such row: its cost follows the backlog (11,000 records
approved since their org's last sync cost 50-130 ms), although between two syncs the answer
rarely changes. So the rows are read once per process and kept with a fingerprint of what they
depend on; a later caller reads only the fingerprint (three narrow scans, no probe per record)
and reuses the rows when it is unchanged:

- the intake marks (an intake moves its org's mark and always stamps `taken_in_at`), and the orgs;
- the source rows after the earliest mark (all rows of an unmarked org): their number and the sum
  of their `updated_at`, so an approval, an edit or a withdrawal changes it;
- the open state rows (the partial index): their number per status and their failures, so a run
  that settles, fails or skips a record changes it.

A state row is created or reopened only by intake, so a record never taken in stays so until the
marks change. `MAX_AGE` bounds how long rows are reused even when the fingerprint matches.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store.queue import OPEN_STATUSES, awaiting_intake, source_with_state, state_of_source
from accsync_pipeline.store.schema import approved_records, org_intake_marks, organizations, record_sync_state

A = approved_records
M = org_intake_marks
S = record_sync_state
ORG = organizations
MAX_AGE = 60.0  # seconds


@dataclass
class OrgBacklog:
    """One org's records awaiting intake."""

    total: int = 0
    # Failed, and edited by the app since: intake makes them pending (counted in `total` too).
    failed_reopened: int = 0
    # Never taken in, or skipped and edited since: the approval times, oldest first.
    not_taken_in: list[datetime] = field(default_factory=list)

    def not_taken_in_before(self, cutoff: datetime) -> tuple[int, datetime | None]:
        """(how many, the oldest) of the records never taken in approved before `cutoff`."""
        count = bisect.bisect_left(self.not_taken_in, cutoff)
        return count, (self.not_taken_in[0] if count else None)


@dataclass(frozen=True)
class _Kept:
    fingerprint: tuple[Any, ...]
    backlog: dict[str, OrgBacklog]
    read_at: float


_kept: dict[str, _Kept] = {}
_lock = threading.Lock()


def backlog_by_org(conn: sa.Connection) -> dict[str, OrgBacklog]:
    """Per org with any, its records awaiting intake (what a full scan after the marks would count)."""
    marks = conn.execute(
        sa.select(ORG.c.org_id, M.c.recount_after, M.c.taken_in_at)
        .select_from(ORG.outerjoin(M, M.c.org_id == ORG.c.org_id))
        .order_by(ORG.c.org_id)
    ).all()
    after = {org_id: recount_after for org_id, recount_after, _ in marks}
    fingerprint = (tuple(tuple(m) for m in marks), *_changes(conn, after))
    key = conn.engine.url.render_as_string(hide_password=True)
    with _lock:
        kept = _kept.get(key)
    if kept is not None and kept.fingerprint == fingerprint and time.monotonic() - kept.read_at < MAX_AGE:
        return kept.backlog
    backlog = _read(conn, after)
    with _lock:
        _kept[key] = _Kept(fingerprint, backlog, time.monotonic())
    return backlog


def forget() -> None:
    """Drop what every process-wide reader kept (tests that rebuild a database at the same address)."""
    with _lock:
        _kept.clear()


def _source_scope(after: dict[str, datetime | None]) -> sa.ColumnElement[bool] | None:
    marked = [a for a in after.values() if a is not None]
    unmarked = sorted(org_id for org_id, a in after.items() if a is None)
    parts: list[sa.ColumnElement[bool]] = []
    if marked:
        parts.append(A.c.updated_at > min(marked))
    if unmarked:
        parts.append(A.c.org_id.in_(unmarked))
    return sa.or_(*parts) if parts else None


def _changes(conn: sa.Connection, after: dict[str, datetime | None]) -> tuple[Any, ...]:
    scope = _source_scope(after)
    source: tuple[Any, ...] = ()
    if scope is not None:
        if conn.dialect.name == "postgresql":
            stamp: sa.ColumnElement[Any] = sa.extract("epoch", A.c.updated_at)
        else:
            stamp = sa.func.julianday(A.c.updated_at)
        source = tuple(conn.execute(sa.select(sa.func.count(), sa.func.sum(stamp)).where(scope)).one())
    states = conn.execute(
        sa.select(S.c.status, sa.func.count(), sa.func.sum(S.c.consecutive_failures))
        .where(S.c.status.in_(OPEN_STATUSES))
        .group_by(S.c.status)
        .order_by(S.c.status)
    ).all()
    return source, tuple(tuple(row) for row in states)


def _read(conn: sa.Connection, after: dict[str, datetime | None]) -> dict[str, OrgBacklog]:
    """The rows after each org's mark (all of an unmarked org's) that intake would make pending."""
    marked = [a for a in after.values() if a is not None]
    unmarked = sorted(org_id for org_id, a in after.items() if a is None)
    columns = (A.c.org_id, S.c.status, A.c.approved_at)
    branches: list[sa.Select[Any]] = []
    if marked:
        after_mark = sa.and_(M.c.org_id == A.c.org_id, A.c.updated_at > M.c.recount_after)
        branches.append(
            sa.select(*columns)
            .select_from(A.join(M, after_mark).outerjoin(S, state_of_source()))
            .where(A.c.updated_at > min(marked), awaiting_intake())
        )
    if unmarked:
        branches.append(
            sa.select(*columns)
            .select_from(source_with_state())
            .where(A.c.org_id.in_(unmarked), awaiting_intake())
        )
    backlog: dict[str, OrgBacklog] = defaultdict(OrgBacklog)
    if not branches:
        return {}
    for org_id, status, approved_at in conn.execute(sa.union_all(*branches)):
        org = backlog[org_id]
        org.total += 1
        if status == SyncStatus.FAILED:
            org.failed_reopened += 1
        else:
            org.not_taken_in.append(approved_at)
    for org in backlog.values():
        org.not_taken_in.sort()
    return dict(backlog)


def counts_of(backlog: dict[str, OrgBacklog], org_ids: Sequence[str] | None) -> dict[str, OrgBacklog]:
    """The backlog of the given orgs (all when None)."""
    if org_ids is None:
        return backlog
    return {org_id: backlog[org_id] for org_id in org_ids if org_id in backlog}
