"""Alert evaluation and run-failure notices: read the facts, apply the rules, tell the right people once.

The alert sensor calls `evaluate_alerts` on every tick and the run-failure sensor calls
`notify_run_failed`; both are safe to repeat, because each notification carries a dedupe key
that a recipient can hold only once.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.domain import alerts as rules
from accsync_pipeline.domain.alerts import ActiveAlert, Audience, Notice, OrgFacts, Rule
from accsync_pipeline.service.failed_runs import failed_runs_since_success
from accsync_pipeline.store import alerts as alert_store
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.notifications import NotificationContent

# Orgs alerting at once from which global administrators get one platform alert instead.
PLATFORM_THRESHOLD = rules.DEFAULT_PLATFORM_THRESHOLD


@dataclass(frozen=True)
class AlertReport:
    """What one evaluation changed: alert keys opened and cleared, notifications written."""

    opened: tuple[str, ...]
    cleared: tuple[str, ...]
    notifications_written: int


def read_facts(
    conn: sa.Connection,
    now: datetime,
    failed_runs: Mapping[str, int] | None = None,
    failing_alerted: Mapping[str, int] | None = None,
) -> list[OrgFacts]:
    """Every organization's alert facts, from a few queries whatever the number of orgs.

    `failed_runs` are sync runs that failed as a whole (from Dagster's run history); each counts
    as one more error next to the records' failed attempts. Failing records come only when their
    alert is not open yet; `failing_alerted` counts, per org, those whose open alert still holds.
    """
    failing_alerted = failing_alerted or {}
    attended = user_store.orgs_with_admins(conn)
    failing = alert_store.unalerted_failing_records(conn)
    errors = alert_store.recent_errors(conn, now)
    overdue = alert_store.overdue_pending(conn, now)
    failed_runs = dict(failed_runs or {})  # last: it may still be on its way from Dagster
    facts = []
    for org in alert_store.alerted_orgs(conn):
        overdue_count, oldest = overdue.get(org.org_id, (0, None))
        facts.append(
            OrgFacts(
                org_id=org.org_id,
                name=org.name,
                enabled=org.enabled,
                thresholds=org.alerts,
                failing_records=tuple(failing.get(org.org_id, ())),
                failing_alerted=failing_alerted.get(org.org_id, 0),
                recent_errors=errors.get(org.org_id, 0) + failed_runs.get(org.org_id, 0),
                overdue_pending=overdue_count,
                oldest_pending_at=oldest,
                has_org_admins=org.org_id in attended,
            )
        )
    return facts


def _with_global_admins_told(conn: sa.Connection, active: list[ActiveAlert]) -> list[ActiveAlert]:
    """Mark the open error-threshold alerts whose opening notice a global administrator holds."""
    keys = {rules.opening_key(a.alert_key, a.opened_at): a for a in active if a.rule == Rule.ERROR_THRESHOLD}
    global_ids = [u.user_id for u in user_store.global_admins(conn)]
    told = notification_store.holders_of(conn, list(keys), global_ids)
    told_alerts = {keys[k].alert_key for k in told}
    # Few are told (orgs alerting together make one platform alert instead): copy only those.
    return [
        dataclasses.replace(a, global_admins_told=True) if a.alert_key in told_alerts else a for a in active
    ]


def _deliver(conn: sa.Connection, notices: Sequence[Notice], now: datetime) -> int:
    """Address each notice to the users of its audience; returns how many notifications are new.

    Recipients are read once (two queries) and every notification goes out in bulk inserts,
    however many notices: a first evaluation over a thousand orgs may open ten thousand alerts.
    """
    if not notices:
        return 0
    org_admins = user_store.org_admins_by_org(conn)
    global_ids = [u.user_id for u in user_store.global_admins(conn)]
    addressed = []
    for notice in notices:
        admins = org_admins.get(notice.org_id or "", []) if notice.audience == Audience.ORG_ADMINS else []
        content = NotificationContent(
            org_id=notice.org_id,
            severity=str(notice.severity),
            title=notice.title,
            body=notice.body,
            link=notice.link,
            dedupe_key=notice.dedupe_key,
        )
        # An org without an administrator of its own is looked after by the global administrators.
        addressed.append((admins or global_ids, content))
    return notification_store.insert_many(conn, addressed, now)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def evaluate_alerts(
    conn: sa.Connection,
    now: datetime,
    platform_threshold: int = PLATFORM_THRESHOLD,
    failed_runs: Mapping[str, int] | None = None,
) -> AlertReport:
    """Evaluate every alert rule once: open and clear alerts, and notify each recipient once per change.

    Call inside one transaction: alert state and notifications commit together, so a crash in
    between neither loses a notice nor sends one twice. Two evaluations racing on the same alert
    make the later one fail with `AlertStateConflict` and roll back; its next tick sees the result.
    """
    _require_aware(now)
    # Open per-record alerts whose record still fails hold and cannot change: they are neither
    # read nor evaluated, only counted per org (the platform alert counts orgs that are alerting).
    recheck = alert_store.alerts_to_recheck(conn)
    clearing = Counter(a.org_id for a in recheck if a.rule == Rule.CONSECUTIVE_FAILURES)
    still_open = {
        org_id: n - clearing[org_id] for org_id, n in alert_store.open_failing_alert_counts(conn).items()
    }
    facts = read_facts(conn, now, failed_runs, {k: n for k, n in still_open.items() if k and n > 0})
    active = _with_global_admins_told(conn, recheck)
    decisions = rules.evaluate(facts, active, now, platform_threshold)
    alert_store.clear_alerts(conn, decisions.cleared, now)
    alert_store.open_alerts(conn, decisions.opened, now)
    written = _deliver(conn, decisions.notices, now)
    return AlertReport(
        opened=tuple(o.alert_key for o in decisions.opened),
        cleared=decisions.cleared,
        notifications_written=written,
    )


def notify_run_failed(
    conn: sa.Connection,
    org_id: str,
    connector_type: str,
    run_id: str,
    error: str | None,
    now: datetime,
    retries: int = 0,
) -> int:
    """Tell the org's administrators why sync run `run_id` failed for good (once per run).

    `retries` is how many times the run retried before it gave up. Returns how many
    notifications are new: 0 when called again for the same run.
    """
    _require_aware(now)
    org = org_store.find_org(conn, org_id)
    notice = rules.run_failed_notice(
        org_id, org.name if org else org_id, connector_type, run_id, error, retries
    )
    return _deliver(conn, [notice], now)


def notify_run_refused(
    conn: sa.Connection, org_id: str | None, run_id: str, reason: str | None, now: datetime
) -> int:
    """An ops note to the global administrators: a run was refused before it touched anything."""
    _require_aware(now)
    return _deliver(conn, [rules.run_refused_notice(org_id, run_id, reason)], now)


def check_alerts(engine: Engine, instance: dg.DagsterInstance, now: datetime) -> AlertReport:
    """Evaluate the alert rules once, with failed runs from Dagster's history (the sensor and the CLI)."""
    with _collection_paused():
        return _check_alerts(engine, instance, now)


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collection waits until the tick is over.

    A tick allocates tens of thousands of short-lived objects (rows, alerts, facts), enough to
    set off a full collection now and then; in a process that loaded Dagster, that walks every
    object it holds (about 200 ms on the scale data set's machine, against a 100 ms tick). What
    the tick allocates is freed by reference counting when it ends, so waiting costs nothing.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _check_alerts(engine: Engine, instance: dg.DagsterInstance, now: datetime) -> AlertReport:
    with engine.connect() as conn:
        windows = {
            o.org_id: now - timedelta(hours=o.alerts.error_window_hours)
            for o in alert_store.alerted_orgs(conn)
        }
    # Dagster's run storage answers while accsync's database does: each of its questions opens a
    # connection of its own, time that would otherwise add to the tick.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-failed-runs") as pool:
        failed_runs = _Answer(pool.submit(failed_runs_since_success, instance, windows))
        with engine.begin() as conn:
            return evaluate_alerts(conn, now, failed_runs=failed_runs)


class _Answer(Mapping[str, int]):
    """Failed runs per org, read on another thread: the first look waits for them."""

    def __init__(self, future: Future[dict[str, int]]) -> None:
        self._future = future

    def __getitem__(self, org_id: str) -> int:
        return self._future.result()[org_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._future.result())

    def __len__(self) -> int:
        return len(self._future.result())
