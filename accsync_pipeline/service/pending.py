"""What is waiting to be posted, counted without taking anything in.

The pipeline's intake (`store.records.intake`) writes a state row for each new source record
and reopens skipped or failed ones the app has edited since. Screens must not write when they
read, so these queries count what intake *would* do: source records with no state row yet,
edited skipped/failed ones, and the queued state rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.schema import approved_records, record_sync_state, sync_runs

A = approved_records
S = record_sync_state
R = sync_runs

# Records in flight are not posted yet: the next run resolves them by lookup.
WAITING_STATUSES = (SyncStatus.PENDING, SyncStatus.IN_FLIGHT)
# What a record in flight is shown as once the run that sent it has ended: it may or may not be
# in the ledger, and the next sync looks it up before sending anything.
OUTCOME_UNKNOWN = "outcome_unknown"


def sending_run_is_live() -> sa.ColumnElement[bool]:
    """The run that marked the record in flight is still open (use on `record_sync_state`)."""
    return sa.exists().where(R.c.run_id == S.c.last_run_id, R.c.status == "started")


def outcome_unknown() -> sa.ColumnElement[bool]:
    """Records left in flight by a run that has ended (failed, was killed, or closed by liveness)."""
    return sa.and_(S.c.status == SyncStatus.IN_FLIGHT, ~sending_run_is_live())


def outcome_unknown_counts(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, int]:
    """Per org, records in flight whose run has ended; one grouped query for any number of orgs."""
    query = sa.select(S.c.org_id, sa.func.count()).where(outcome_unknown()).group_by(S.c.org_id)
    if org_ids is not None:
        query = query.where(S.c.org_id.in_(list(org_ids)))
    return {org_id: int(count) for org_id, count in conn.execute(query)}


def awaiting_intake() -> sa.ColumnElement[bool]:
    """Source rows that intake would make pending (use on `approved_records` outer-joined to state)."""
    return record_store.awaiting_intake()


def _with_state() -> sa.FromClause:
    return A.outerjoin(S, record_store.state_of_source())


OPEN_STATUSES = (*WAITING_STATUSES, SyncStatus.FAILED)


def record_counts(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Per org: {"pending": n, "failed": n}, where pending includes what intake would take in.

    Sized for a thousand orgs and a million records: the state counts read the partial index of
    open records (pending, in flight, failed), and what awaits intake is read only after each
    org's intake mark. None of it grows with the number of records already exported or skipped.
    A failed record the app has since edited counts as pending, not failed: the next sync sends it.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"pending": 0, "failed": 0})
    state = (
        sa.select(S.c.org_id, S.c.status, sa.func.count())
        .where(S.c.status.in_(OPEN_STATUSES))
        .group_by(S.c.org_id, S.c.status)
    )
    if org_ids is not None:
        state = state.where(S.c.org_id.in_(list(org_ids)))
    for org_id, status, count in conn.execute(state):
        if status in WAITING_STATUSES:
            counts[org_id]["pending"] += int(count)
        elif status == SyncStatus.FAILED:
            counts[org_id]["failed"] += int(count)
    for org_id, _, status, _, _, count in record_store.awaiting_intake_counts(conn, org_ids):
        counts[org_id]["pending"] += count
        if status == SyncStatus.FAILED:
            counts[org_id]["failed"] -= count
    return dict(counts)


def next_sync_by_type(
    conn: sa.Connection, org_id: str, now: datetime, record_types: Sequence[str] | None = None
) -> dict[str, int]:
    """How many records of each type the next sync of the org would send, if it started at `now`.

    The queue the pipeline takes after intake: pending (and in flight), failed ones whose
    automatic retry is due, and everything intake would add or reopen. The queued state rows
    are counted on the org's open-records index by their stored type (the one the pipeline
    reads); what intake would add or reopen is counted by the source's type.
    """
    due = sa.and_(S.c.status == SyncStatus.FAILED, S.c.next_attempt_at <= now)
    queued = (
        sa.select(S.c.record_type, sa.func.count())
        .where(
            S.c.org_id == org_id, S.c.status.in_(OPEN_STATUSES), sa.or_(S.c.status.in_(WAITING_STATUSES), due)
        )
        .group_by(S.c.record_type)
    )
    by_type: dict[str, int] = defaultdict(int)
    for record_type, count in conn.execute(queued):
        by_type[str(record_type)] += int(count)
    for _, source_type, status, state_type, next_at, count in record_store.awaiting_intake_counts(
        conn, [org_id], group_by_type=True
    ):
        if status == SyncStatus.FAILED and next_at is not None and next_at <= now:
            # Queued already, counted above under its stored type; intake stores the source's.
            by_type[str(state_type)] -= count
        by_type[str(source_type)] += count
    if record_types is not None:
        by_type = defaultdict(int, {t: n for t, n in by_type.items() if t in record_types})
    return {t: n for t, n in by_type.items() if n > 0}
