"""Alert state (which conditions are open) and the facts the alert rules are evaluated on.

Each fact is one query over all organizations, whatever their number: the alert sensor runs
every few minutes against a thousand orgs and a million records. Thresholds are per org, so
the queries join `organizations` and compare against its columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.alert_details import details_json, parse_details
from accsync_pipeline.domain.alerts import ActiveAlert, AlertOpening, FailingRecord, Rule
from accsync_pipeline.domain.org import AlertThresholds
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.store.intake_backlog import backlog_by_org
from accsync_pipeline.store.schema import (
    alert_state,
    organizations,
    record_sync_state,
    sync_attempts,
)
from accsync_pipeline.store.types import UtcDateTime

ORG = organizations
S = record_sync_state

# A record still owes an export while it is in one of these; manual retry makes a failed record
# pending without resetting its failures, and that must not count as resolved.
UNEXPORTED = (SyncStatus.FAILED, SyncStatus.PENDING, SyncStatus.IN_FLIGHT)


@dataclass(frozen=True)
class AlertedOrg:
    """What the alert rules need of an org: no connector settings, which are costly to read."""

    org_id: str
    name: str
    enabled: bool
    alerts: AlertThresholds


def alerted_orgs(conn: sa.Connection) -> list[AlertedOrg]:
    """Every org with its alert thresholds, ordered by org id."""
    query = sa.select(
        ORG.c.org_id,
        ORG.c.name,
        ORG.c.enabled,
        ORG.c.alert_consecutive_failures,
        ORG.c.alert_error_threshold,
        ORG.c.alert_error_window_hours,
        ORG.c.alert_pending_hours,
    ).order_by(ORG.c.org_id)
    return [
        AlertedOrg(org_id, name, bool(enabled), AlertThresholds(*thresholds))
        for org_id, name, enabled, *thresholds in conn.execute(query)
    ]


class AlertStateConflict(RuntimeError):
    """Another evaluation changed the same alert first; this one must roll back and run again."""


def _active(rows: Any) -> list[ActiveAlert]:
    return [
        ActiveAlert(
            alert_key=m["alert_key"],
            rule=Rule(m["rule"]),
            org_id=m["org_id"],
            opened_at=m["opened_at"],
            details=parse_details(m["rule"], m["details"]),
        )
        for m in (r._mapping for r in rows)
    ]


def active_alerts(conn: sa.Connection) -> list[ActiveAlert]:
    query = sa.select(alert_state).where(alert_state.c.active.is_(True)).order_by(alert_state.c.alert_key)
    return _active(conn.execute(query))


# A record's alert key is "consecutive_failures:<org id>:<record id>" (`alert_key_of`): the record
# id starts after the rule, the org id and two colons. substr/length read alike on both databases.
_FAILING_PREFIX = f"{Rule.CONSECUTIVE_FAILURES}:"
_record_of_key = sa.func.substr(
    alert_state.c.alert_key, len(_FAILING_PREFIX) + sa.func.length(alert_state.c.org_id) + 2
)


def _still_failing() -> sa.ColumnElement[bool]:
    """The record of an open per-record alert still fails at its org's limit (correlated on alert_state)."""
    return (
        sa.select(S.c.record_id)
        .select_from(S.join(ORG, ORG.c.org_id == S.c.org_id))
        .where(
            S.c.record_id == _record_of_key,
            S.c.org_id == alert_state.c.org_id,
            S.c.status.in_(UNEXPORTED),
            S.c.consecutive_failures >= ORG.c.alert_consecutive_failures,
        )
        .exists()
    )


def alerts_to_recheck(conn: sa.Connection) -> list[ActiveAlert]:
    """The open alerts whose condition may have cleared: all but the per-record alerts still failing.

    An open per-record alert whose record still fails cannot change on this tick, and there may
    be ten thousand of them; leaving them in the database keeps a steady tick from reading them.
    """
    per_record = alert_state.c.rule == str(Rule.CONSECUTIVE_FAILURES)
    query = (
        sa.select(alert_state)
        .where(alert_state.c.active.is_(True), sa.or_(~per_record, ~_still_failing()))
        .order_by(alert_state.c.alert_key)
    )
    return _active(conn.execute(query))


def open_failing_alert_counts(conn: sa.Connection) -> dict[str, int]:
    """Per org, how many per-record alerts are open (whether or not their record still fails)."""
    query = (
        sa.select(alert_state.c.org_id, sa.func.count())
        .where(alert_state.c.active.is_(True), alert_state.c.rule == str(Rule.CONSECUTIVE_FAILURES))
        .group_by(alert_state.c.org_id)
    )
    return {org_id: int(n) for org_id, n in conn.execute(query)}


def open_alert(conn: sa.Connection, opening: AlertOpening, now: datetime) -> None:
    """Mark a condition open; a condition that opened and cleared before keeps its row."""
    values = {
        "rule": str(opening.rule),
        "org_id": opening.org_id,
        "active": True,
        "opened_at": now,
        "cleared_at": None,
        "details": details_json(opening.details),
    }
    reopened = conn.execute(
        alert_state.update()
        .where(alert_state.c.alert_key == opening.alert_key, alert_state.c.active.is_(False))
        .values(**values)
    )
    if reopened.rowcount:
        return
    try:
        conn.execute(alert_state.insert().values(alert_key=opening.alert_key, **values))
    except sa.exc.IntegrityError as e:
        raise AlertStateConflict(f"alert {opening.alert_key} is already open") from e


def clear_alert(conn: sa.Connection, alert_key: str, now: datetime) -> None:
    cleared = conn.execute(
        alert_state.update()
        .where(alert_state.c.alert_key == alert_key, alert_state.c.active.is_(True))
        .values(active=False, cleared_at=now)
    )
    if not cleared.rowcount:
        raise AlertStateConflict(f"alert {alert_key} is not open")


KEY_CHUNK = 1000


def open_alerts(conn: sa.Connection, openings: Sequence[AlertOpening], now: datetime) -> None:
    """`open_alert` for many conditions in a few statements: reopen the known keys, insert the rest."""
    if not openings:
        return
    keys = [o.alert_key for o in openings]
    known: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        rows = conn.execute(
            sa.select(alert_state.c.alert_key, alert_state.c.active).where(
                alert_state.c.alert_key.in_(keys[start : start + KEY_CHUNK])
            )
        ).all()
        if any(active for _, active in rows):
            raise AlertStateConflict("an alert being opened is already open")
        known.update(key for key, _ in rows)

    def values(o: AlertOpening) -> dict[str, Any]:
        return {
            "rule": str(o.rule),
            "org_id": o.org_id,
            "active": True,
            "opened_at": now,
            "cleared_at": None,
            "details": details_json(o.details),
        }

    reopen = [{"b_key": o.alert_key, **values(o)} for o in openings if o.alert_key in known]
    if reopen:
        result = conn.execute(
            alert_state.update().where(
                alert_state.c.alert_key == sa.bindparam("b_key"), alert_state.c.active.is_(False)
            ),
            reopen,
        )
        if result.rowcount != len(reopen):
            raise AlertStateConflict("another evaluation reopened an alert first")
    fresh = [{"alert_key": o.alert_key, **values(o)} for o in openings if o.alert_key not in known]
    try:
        for start in range(0, len(fresh), KEY_CHUNK):
            conn.execute(alert_state.insert(), fresh[start : start + KEY_CHUNK])
    except sa.exc.IntegrityError as e:
        raise AlertStateConflict("another evaluation opened an alert first") from e


def clear_alerts(conn: sa.Connection, alert_keys: Sequence[str], now: datetime) -> None:
    """`clear_alert` for many keys: one UPDATE per thousand keys."""
    keys = list(dict.fromkeys(alert_keys))
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        cleared = conn.execute(
            alert_state.update()
            .where(alert_state.c.alert_key.in_(chunk), alert_state.c.active.is_(True))
            .values(active=False, cleared_at=now)
        )
        if cleared.rowcount != len(chunk):
            raise AlertStateConflict("an alert being cleared is not open")


@dataclass(frozen=True)
class _Cutoffs:
    """`now` minus each org's own number of hours, as SQL that works alike on SQLite and PostgreSQL.

    Date arithmetic on a column differs per database; orgs use few distinct values, so each
    becomes a literal picked by a CASE. `earliest` and `latest` bound every org's cutoff, so
    that a plain range on the indexed time column narrows the scan before the CASE is applied.
    """

    per_org: sa.ColumnElement[datetime]
    earliest: datetime
    latest: datetime


def _cutoffs(conn: sa.Connection, hours_column: sa.Column[int], now: datetime) -> _Cutoffs | None:
    hours = sorted(h for (h,) in conn.execute(sa.select(hours_column).distinct()))
    if not hours:
        return None
    per_org = sa.case(
        *[(hours_column == h, sa.literal(now - timedelta(hours=h), UtcDateTime)) for h in hours],
        else_=sa.literal(now, UtcDateTime),
    )
    return _Cutoffs(per_org, now - timedelta(hours=hours[-1]), now - timedelta(hours=hours[0]))


def unalerted_failing_records(conn: sa.Connection) -> dict[str, list[FailingRecord]]:
    """Per org, the unexported records that failed at least the org's limit of attempts in a row
    and have no open alert yet (those with one are already known to hold)."""
    alert_key = sa.literal(_FAILING_PREFIX) + S.c.org_id + sa.literal(":") + S.c.record_id
    alerted = (
        sa.select(alert_state.c.alert_key)
        .where(alert_state.c.alert_key == alert_key, alert_state.c.active.is_(True))
        .exists()
    )
    query = (
        sa.select(S.c.org_id, S.c.record_id, S.c.record_type, S.c.consecutive_failures, S.c.last_error)
        .select_from(S.join(ORG, ORG.c.org_id == S.c.org_id))
        .where(
            S.c.status.in_(UNEXPORTED),
            S.c.consecutive_failures >= ORG.c.alert_consecutive_failures,
            ~alerted,
        )
        .order_by(S.c.org_id, S.c.record_id)
    )
    by_org: dict[str, list[FailingRecord]] = defaultdict(list)
    for r in conn.execute(query):
        by_org[r.org_id].append(
            FailingRecord(r.record_id, r.record_type, r.consecutive_failures, r.last_error)
        )
    return dict(by_org)


def recent_errors(conn: sa.Connection, now: datetime) -> dict[str, int]:
    """Per org, failed attempts within the org's error window that no later export has put right.

    Counting only what is still wrong lets the alert clear once the failed records are retried
    successfully, instead of waiting for the window to pass.
    """
    A = sync_attempts
    cutoff = _cutoffs(conn, ORG.c.alert_error_window_hours, now)
    if cutoff is None:
        return {}
    query = (
        sa.select(A.c.org_id, sa.func.count())
        .select_from(A.join(ORG, ORG.c.org_id == A.c.org_id))
        .where(
            A.c.outcome == "failed",
            A.c.resolved_by_run_id.is_(None),
            A.c.attempted_at > cutoff.earliest,
            A.c.attempted_at > cutoff.per_org,
        )
        .group_by(A.c.org_id)
    )
    return {org_id: int(count) for org_id, count in conn.execute(query)}


def overdue_pending(conn: sa.Connection, now: datetime) -> dict[str, tuple[int, datetime]]:
    """Per enabled org: approved records not in the ledger past its limit after approval, and the oldest.

    Whatever held them up counts: never taken in by a sync (no state row yet: a bad secret or a
    dead network stops a run before intake), pending, in flight, failed, or skipped but edited
    by the app since. Two parts, neither of which reads the million records already settled:
    the open state rows (their partial index), and the source rows after each org's intake
    mark that intake has not taken in (`queue.awaiting_intake_counts` reads the same rows).
    """
    cutoff = _cutoffs(conn, ORG.c.alert_pending_hours, now)
    if cutoff is None:
        return {}
    open_rows = (
        sa.select(S.c.org_id, sa.func.count(), sa.func.min(S.c.approved_at))
        .select_from(S.join(ORG, ORG.c.org_id == S.c.org_id))
        .where(
            ORG.c.enabled.is_(True),
            S.c.status.in_(UNEXPORTED),
            S.c.approved_at < cutoff.latest,
            S.c.approved_at < cutoff.per_org,
        )
        .group_by(S.c.org_id)
    )
    found: dict[str, tuple[int, datetime]] = {
        org_id: (int(count), oldest) for org_id, count, oldest in conn.execute(open_rows)
    }
    # A failed record the app edited is open already (counted above); the rest were never
    # taken in, or were skipped and edited since: kept per org by `intake_backlog`.
    enabled = sa.select(ORG.c.org_id, ORG.c.alert_pending_hours).where(ORG.c.enabled.is_(True))
    hours: dict[str, int] = {org_id: int(h) for org_id, h in conn.execute(enabled)}
    for org_id, backlog in backlog_by_org(conn).items():
        if org_id not in hours:
            continue
        count, oldest = backlog.not_taken_in_before(now - timedelta(hours=hours[org_id]))
        if oldest is None:
            continue
        known = found.get(org_id)
        found[org_id] = (count, oldest) if known is None else (known[0] + count, min(known[1], oldest))
    return found
