"""Sync runs that failed as a whole since each org's last success, from Dagster's run history.

The alert sensor asks on every tick, for every org. Reading the finished runs deserializes each
run Dagster stores (2,000 runs inside the error windows cost 160 ms on the scale data set),
while between two ticks few runs finish. So this process keeps the finished runs, reduced to
what the rule reads, and a tick asks the run storage two narrow questions instead:

- how many finished runs were created after the kept horizon: a run that finishes, appears or
  is deleted changes it;
- which finished runs were updated after the newest update kept: a run tagged since.

When either says something moved, the runs updated since shortly before the newest update kept
are read and merged; if the count then still disagrees (a deletion, or a write whose clock
lagged the margin), everything is read again. `MAX_AGE` bounds how long kept runs serve.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from accsync_pipeline.domain.run_tags import ORG_TAG, REFUSED_TAG

FINISHED = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
READ_LIMIT = 5000  # runs per full read: far more than a thousand orgs finish inside a window
MAX_AGE = 300.0  # seconds
# Dagster stamps a run's update with the writer's clock before the write commits: a run updated
# just before the newest one kept may become visible only later.
UPDATE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class _FinishedRun:
    storage_id: int  # Dagster's row id: newest first is highest first
    org_id: str | None
    failed: bool
    refused: bool
    created_at: datetime


@dataclass(frozen=True)
class _Kept:
    horizon: datetime  # runs created after it are all kept (up to READ_LIMIT)
    count: int
    newest_update: datetime | None  # of the runs kept
    runs: dict[str, _FinishedRun]  # by run id
    read_at: float


_kept: dict[Hashable, _Kept] = {}
_lock = threading.Lock()


def failed_runs_since_success(instance: dg.DagsterInstance, since: Mapping[str, datetime]) -> dict[str, int]:
    """Per org, sync runs that failed after `since[org]` and after the org's last successful run.

    A failed run that a later run put right no longer counts, so the alert it raised can clear.
    Every job counts, not only the sync job: a partition materialized from the Dagster UI runs as
    the implicit asset job, and the op gives it the org tag. A run refused before it touched
    anything is neither a failure nor a success.
    """
    if not since:
        return {}
    earliest = min(since.values()).astimezone(UTC)
    failures: dict[str, int] = {}
    succeeded: set[str] = set()
    runs = sorted(_finished_runs(instance, earliest), key=lambda r: r.storage_id, reverse=True)
    for run in runs:
        org_id = run.org_id
        if org_id is None or org_id not in since or org_id in succeeded or run.refused:
            continue
        if not run.failed:
            succeeded.add(org_id)
        elif run.created_at > since[org_id]:
            failures[org_id] = failures.get(org_id, 0) + 1
    return failures


def forget() -> None:
    """Drop the runs kept by this process (tests that reuse a storage address)."""
    with _lock:
        _kept.clear()


def _finished_runs(instance: dg.DagsterInstance, earliest: datetime) -> Iterable[_FinishedRun]:
    """The finished runs created after `earliest`, and maybe some earlier ones (they change nothing:
    an earlier failure is outside every window, an earlier success hides only such failures)."""
    key = _storage_key(instance)
    with _lock:
        kept = _kept.get(key) if key is not None else None
    if kept is not None and kept.horizon <= earliest and time.monotonic() - kept.read_at < MAX_AGE:
        fresh = _refreshed(instance, kept)
        if fresh is not None:
            if fresh is not kept:
                with _lock:
                    _kept[key] = fresh
            return fresh.runs.values()
    kept = _read_all(instance, earliest)
    if key is not None:
        with _lock:
            _kept[key] = kept
    return kept.runs.values()


def _storage_key(instance: dg.DagsterInstance) -> Hashable | None:
    """Which run storage this is, the same for every instance a tick builds from the same ref."""
    if instance.is_ephemeral:
        return None  # in memory, gone with the instance: nothing to share between ticks
    return instance.get_ref().run_storage_data


def _compact(record: dg.RunRecord) -> _FinishedRun:
    tags = record.dagster_run.tags
    return _FinishedRun(
        storage_id=record.storage_id,
        org_id=tags.get(ORG_TAG),
        failed=record.dagster_run.status == dg.DagsterRunStatus.FAILURE,
        refused=tags.get(REFUSED_TAG) == "true",
        created_at=record.create_timestamp,
    )


def _newest(runs: Iterable[dg.RunRecord], known: datetime | None) -> datetime | None:
    times = [r.update_timestamp for r in runs] + ([known] if known is not None else [])
    return max(times, default=None)


def _count(instance: dg.DagsterInstance, horizon: datetime) -> int:
    return instance.get_runs_count(dg.RunsFilter(statuses=FINISHED, created_after=horizon))


def _updated_after(
    instance: dg.DagsterInstance, horizon: datetime, after: datetime | None
) -> list[dg.RunRecord]:
    finished = dg.RunsFilter(statuses=FINISHED, created_after=horizon, updated_after=after)
    return list(instance.get_run_records(finished, limit=READ_LIMIT))


def _read_all(instance: dg.DagsterInstance, horizon: datetime) -> _Kept:
    # The count first: a run that finishes during the read then shows as a change next tick.
    count = _count(instance, horizon)
    records = _updated_after(instance, horizon, None)
    runs = {r.dagster_run.run_id: _compact(r) for r in records}
    return _Kept(horizon, count, _newest(records, None), runs, time.monotonic())


def _refreshed(instance: dg.DagsterInstance, kept: _Kept) -> _Kept | None:
    """`kept` if nothing moved, brought up to date if a few runs did, None if it must be read again."""
    count = _count(instance, kept.horizon)
    if count == kept.count and not _updated_after(instance, kept.horizon, kept.newest_update):
        return kept
    since = kept.newest_update - UPDATE_MARGIN if kept.newest_update is not None else None
    changed = _updated_after(instance, kept.horizon, since)
    runs = {**kept.runs, **{r.dagster_run.run_id: _compact(r) for r in changed}}
    if len(runs) != count:
        return None
    return _Kept(kept.horizon, count, _newest(changed, kept.newest_update), runs, kept.read_at)
