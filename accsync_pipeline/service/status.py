"""Each organization's status as the admin screens show it: counts, last sync, health, next run.

One org or a thousand take the same handful of grouped queries (orgs, record counts, latest
runs, latest reconciliations); nothing is queried per org. Health and next runs are computed from those facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.alert_model import status_link
from accsync_pipeline.domain.health import Health, HealthFacts, LastSync, assess_health
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.schedule import view_schedule
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import reconciliations as reconciliation_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.queue import outcome_unknown_counts, record_counts


@dataclass(frozen=True)
class RunningSync:
    run_id: str
    status: str
    done: int
    total: int
    started_at: datetime


@dataclass(frozen=True)
class ReconciliationFinding:
    kind: str  # missing | duplicated | unknown
    record_id: str | None
    key: str
    postings: int
    detail: str


@dataclass(frozen=True)
class ReconciliationStatus:
    """The org's latest ledger reconciliation, as the status screen and API say it."""

    checked_at: datetime
    trigger: str  # sync | schedule | manual
    state: str  # ok | discrepancies | unreadable
    expected: int
    held: int
    missing: int
    duplicated: int
    unknown: int
    error: str | None
    findings: tuple[ReconciliationFinding, ...]  # the first 200, as stored
    records_link: str | None  # the status screen filtered to the records the findings name

    @property
    def discrepancies(self) -> int:
        return self.missing + self.duplicated + self.unknown

    @property
    def summary(self) -> str:
        if self.state == "unreadable":
            return f"the ledger could not be read: {self.error}"
        if self.state == "ok":
            return f"all {self.expected} exported records found in the ledger exactly once"
        parts = [
            f"{n} {label}"
            for n, label in (
                (self.missing, "missing from the ledger"),
                (self.duplicated, "posted more than once"),
                (self.unknown, "in the ledger without an exported record"),
            )
            if n
        ]
        return ", ".join(parts)

    @classmethod
    def of(cls, row: reconciliation_store.ReconciliationRow) -> ReconciliationStatus:
        findings = tuple(
            ReconciliationFinding(f["kind"], f.get("record_id"), f["key"], int(f["postings"]), f["detail"])
            for f in row.findings
        )
        named = sorted({f.record_id for f in findings if f.record_id})
        state = "unreadable" if row.error is not None else "ok" if row.clean else "discrepancies"
        return cls(
            checked_at=row.checked_at,
            trigger=row.trigger,
            state=state,
            expected=row.expected,
            held=row.held,
            missing=row.missing,
            duplicated=row.duplicated,
            unknown=row.unknown,
            error=row.error,
            findings=findings,
            records_link=status_link(row.org_id, "all", named) if named else None,
        )


@dataclass(frozen=True)
class OrgStatus:
    org_id: str
    name: str
    connector_type: str
    enabled: bool
    timezone: str
    last_successful_sync_at: datetime | None
    pending: int
    failed: int
    failed_in_last_sync: int | None
    health: Health
    running: RunningSync | None
    next_run_at: datetime | None
    schedule_description: str
    # The latest ended run when it failed: the sync log's row that explains it.
    last_failed_run_id: str | None = None
    # Records a run that has ended left in flight: their outcome is checked on the next sync.
    outcome_unknown: int = 0
    # The latest ledger reconciliation; None before the first.
    reconciliation: ReconciliationStatus | None = None


@dataclass(frozen=True)
class HealthInputs:
    """What health is assessed from, per org id: one grouped query each, whatever the number of orgs."""

    counts: Mapping[str, Mapping[str, int]]  # {"pending": n, "failed": n}
    ended: Mapping[str, Any]  # the latest run that ended
    running: Mapping[str, Any]  # the latest run still going
    successes: Mapping[str, datetime]  # the last successful finish


def health_inputs(conn: sa.Connection, org_ids: Sequence[str] | None) -> HealthInputs:
    """The health inputs of the given orgs (all when None)."""
    return HealthInputs(
        counts=record_counts(conn, org_ids),
        ended=run_store.latest_per_org(conn, ("success", "failure"), org_ids),
        running=run_store.latest_per_org(conn, ("started",), org_ids),
        successes=run_store.last_successes(conn, org_ids),
    )


def org_statuses(
    conn: sa.Connection,
    now: datetime,
    org_ids: Sequence[str] | None = None,
    inputs: HealthInputs | None = None,
) -> list[OrgStatus]:
    """Status of the given orgs (all when None), ordered by org id; `inputs` when already read for them."""
    orgs = org_store.list_orgs(conn) if org_ids is None else org_store.find_orgs(conn, org_ids)
    scope = None if org_ids is None else [o.org_id for o in orgs]
    known = inputs or health_inputs(conn, scope)
    created = org_store.created_at(conn, scope)
    unknown = outcome_unknown_counts(conn, scope)
    reconciled = reconciliation_store.latest_per_org(conn, scope)
    return [
        _status(
            org,
            now,
            known.counts.get(org.org_id),
            known.ended.get(org.org_id),
            known.running.get(org.org_id),
            known.successes.get(org.org_id),
            created.get(org.org_id, now),
            unknown.get(org.org_id, 0),
            reconciled.get(org.org_id),
        )
        for org in orgs
    ]


def org_status(conn: sa.Connection, org_id: str, now: datetime) -> OrgStatus | None:
    found = org_statuses(conn, now, [org_id])
    return found[0] if found else None


def health_facts(
    now: datetime,
    enabled: bool,
    timezone: str,
    cron: str | None,
    watched_since: datetime,
    counts: Mapping[str, int],
    ended: Any,
    last_success_at: datetime | None,
) -> HealthFacts:
    """What an org's health is assessed from: its counts, its last ended run and its schedule."""
    last_sync = (
        LastSync(ended.finished_at or ended.started_at, ended.status == "success", ended.failed, ended.error)
        if ended is not None
        else None
    )
    return HealthFacts(
        now=now,
        enabled=enabled,
        last_sync=last_sync,
        last_success_at=last_success_at,
        pending=counts["pending"],
        cron=cron,
        timezone=timezone,
        watched_since=watched_since,
        unresolved_failed=counts["failed"],
    )


def _status(
    org: OrgConfig,
    now: datetime,
    counts: Mapping[str, int] | None,
    ended: Any,
    running: Any,
    last_success_at: datetime | None,
    created_at: datetime,
    outcome_unknown: int = 0,
    reconciled: reconciliation_store.ReconciliationRow | None = None,
) -> OrgStatus:
    counts = counts or {"pending": 0, "failed": 0}
    # One next run, and none when disabled; an invalid schedule has neither cron nor runs.
    schedule = view_schedule(org.schedule, org.timezone, now, 1 if org.enabled else 0)
    facts = health_facts(
        now, org.enabled, org.timezone, schedule.cron, created_at, counts, ended, last_success_at
    )
    return OrgStatus(
        org_id=org.org_id,
        name=org.name,
        connector_type=org.connector_type,
        enabled=org.enabled,
        timezone=org.timezone,
        last_successful_sync_at=last_success_at,
        pending=counts["pending"],
        failed=counts["failed"],
        failed_in_last_sync=ended.failed if ended is not None else None,
        health=assess_health(facts),
        running=(
            RunningSync(running.run_id, "STARTED", running.done, running.total, running.started_at)
            if running is not None
            else None
        ),
        next_run_at=schedule.next_runs[0] if schedule.next_runs else None,
        schedule_description=schedule.description,
        last_failed_run_id=ended.run_id if ended is not None and ended.status == "failure" else None,
        outcome_unknown=outcome_unknown,
        reconciliation=ReconciliationStatus.of(reconciled) if reconciled is not None else None,
    )
