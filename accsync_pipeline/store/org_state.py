"""An org's records as an ops engineer watches them: what waits, what failed, what is stuck, what is exported.

Read-only queries over `record_sync_state`, each served by its (org_id, status, record_type)
index. They feed the asset checks and the materialization metadata, so they answer for the
org as it stands now, not only for what one run did.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from accsync_pipeline.domain.records import LedgerKeys, SyncStatus, ledger_keys
from accsync_pipeline.store.schema import record_sync_state

S = record_sync_state
# Approved but not in the ledger: waiting, caught in flight, or failed. Skipped records are
# not counted: they wait for the app to fix them, and say why.
NOT_EXPORTED = (SyncStatus.PENDING, SyncStatus.IN_FLIGHT, SyncStatus.FAILED)
KEY_CHUNK = 5000


@dataclass(frozen=True)
class StateCounts:
    pending: int
    in_flight: int
    failed: int
    skipped: int
    exported: int
    oldest_not_exported_at: datetime | None


@dataclass(frozen=True)
class FailedRecord:
    record_id: str
    error: str
    code: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class InFlightRecord:
    record_id: str
    run_id: str | None
    since: datetime


def _type_filter(record_type: str | None) -> list[sa.ColumnElement[bool]]:
    return [S.c.record_type == record_type] if record_type is not None else []


def state_counts(conn: sa.Connection, org_id: str, record_type: str | None = None) -> StateCounts:
    """How many records stand in each state, and the oldest approval not yet in the ledger."""
    where = [S.c.org_id == org_id, *_type_filter(record_type)]
    counts = {
        status: int(n)
        for status, n in conn.execute(
            sa.select(S.c.status, sa.func.count()).where(*where).group_by(S.c.status)
        )
    }
    oldest = conn.execute(
        sa.select(sa.func.min(S.c.approved_at)).where(*where, S.c.status.in_([s.value for s in NOT_EXPORTED]))
    ).scalar()
    return StateCounts(
        pending=counts.get(SyncStatus.PENDING, 0),
        in_flight=counts.get(SyncStatus.IN_FLIGHT, 0),
        failed=counts.get(SyncStatus.FAILED, 0),
        skipped=counts.get(SyncStatus.SKIPPED, 0),
        exported=counts.get(SyncStatus.EXPORTED, 0),
        oldest_not_exported_at=oldest,
    )


def failed_records(
    conn: sa.Connection, org_id: str, record_type: str | None = None, limit: int = 50
) -> list[FailedRecord]:
    """Failed records with the ledger's own error text and code, most persistent first."""
    query = (
        sa.select(
            S.c.record_id, S.c.last_error, S.c.last_error_code, S.c.consecutive_failures, S.c.next_attempt_at
        )
        .where(S.c.org_id == org_id, S.c.status == SyncStatus.FAILED, *_type_filter(record_type))
        .order_by(S.c.consecutive_failures.desc(), S.c.record_id)
        .limit(limit)
    )
    return [
        FailedRecord(rid, error or "", code, int(failures or 0), next_at)
        for rid, error, code, failures, next_at in conn.execute(query)
    ]


def errors_of(conn: sa.Connection, record_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """The stored error text and code of each record (a run's failed records, for its metadata)."""
    found: dict[str, tuple[str, str | None]] = {}
    ids = list(record_ids)
    for start in range(0, len(ids), KEY_CHUNK):
        query = sa.select(S.c.record_id, S.c.last_error, S.c.last_error_code).where(
            S.c.record_id.in_(ids[start : start + KEY_CHUNK])
        )
        found.update({rid: (error or "", code) for rid, error, code in conn.execute(query)})
    return found


def in_flight_records(
    conn: sa.Connection, org_id: str, record_type: str | None = None
) -> list[InFlightRecord]:
    query = (
        sa.select(S.c.record_id, S.c.last_run_id, S.c.updated_at)
        .where(S.c.org_id == org_id, S.c.status == SyncStatus.IN_FLIGHT, *_type_filter(record_type))
        .order_by(S.c.record_id)
    )
    return [InFlightRecord(rid, run_id, since) for rid, run_id, since in conn.execute(query)]


def record_types_of(conn: sa.Connection, org_id: str, record_ids: Sequence[str]) -> dict[str, str]:
    """The record type of each of `record_ids` that the org has."""
    ids = sorted(set(record_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), KEY_CHUNK):
        query = sa.select(S.c.record_id, S.c.record_type).where(
            S.c.org_id == org_id, S.c.record_id.in_(ids[start : start + KEY_CHUNK])
        )
        found.update({rid: record_type for rid, record_type in conn.execute(query)})
    return found


def record_keys(conn: sa.Connection, org_id: str) -> Iterator[tuple[LedgerKeys, str, str]]:
    """Every record of the org that could be in the ledger: (its keys, status, record type).

    Keyset-paged so that an org with a million records never sits in memory as rows.
    """
    after = ""
    while True:
        query = (
            sa.select(S.c.record_id, S.c.status, S.c.record_type)
            .where(S.c.org_id == org_id, S.c.record_id > after, S.c.status != SyncStatus.SKIPPED)
            .order_by(S.c.record_id)
            .limit(KEY_CHUNK)
        )
        rows = conn.execute(query).all()
        for record_id, status, record_type in rows:
            yield ledger_keys(org_id, record_id), status, record_type
        if len(rows) < KEY_CHUNK:
            return
        after = rows[-1][0]
