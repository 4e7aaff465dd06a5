"""Shapes shared by the API's routes. Times are ISO-8601 with an offset; money is a decimal string."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from accsync_pipeline.domain.org import User
from accsync_pipeline.service.status import OrgStatus, ReconciliationStatus


class StrictIn(BaseModel):
    """A request body: JSON types as they are, so `"yes"`, `"5"` or `true` is never taken for a number."""

    model_config = ConfigDict(strict=True)


class ErrorBody(BaseModel):
    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route may give (all share `{detail}`)."""
    described = {
        401: "No valid token",
        403: "Not allowed, or a cookie-authenticated change without the CSRF header",
        404: "No such organization or resource that the caller may see",
        409: "Conflicts with the current state (a sync already runs, the org is disabled, ...)",
        503: "Dagster or the authentication configuration is unavailable",
    }
    return {code: {"model": ErrorBody, "description": described[code]} for code in codes}


class UserOut(BaseModel):
    user_id: str
    name: str
    email: str
    role: str
    org_id: str | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(user_id=user.user_id, name=user.name, email=user.email, role=user.role, org_id=user.org_id)


class HealthOut(BaseModel):
    level: str = Field(description="green | amber | red")
    reason: str


class RunningOut(BaseModel):
    run_id: str
    status: str
    done: int
    total: int
    started_at: datetime


MAX_FINDINGS_SHOWN = 50


class ReconciliationFindingOut(BaseModel):
    kind: str = Field(description="missing | duplicated | unknown")
    record_id: str | None = Field(description="None for a key of ours that no record of the org has")
    key: str
    postings: int
    detail: str


class ReconciliationOut(BaseModel):
    """The org's latest ledger reconciliation (daily, on demand, or by a sync when a day old)."""

    checked_at: datetime
    trigger: str = Field(description="sync | schedule | manual")
    state: str = Field(description="ok | discrepancies | unreadable")
    ok: bool
    discrepancies: int
    missing: int
    duplicated: int
    unknown: int
    expected: int = Field(description="Records accsync marked exported")
    held: int = Field(description="Keys of ours the ledger holds")
    summary: str
    error: str | None
    findings: list[ReconciliationFindingOut] = Field(description=f"The first {MAX_FINDINGS_SHOWN}")
    records_link: str | None = Field(description="The status screen listing the records the findings name")

    @classmethod
    def of(cls, r: ReconciliationStatus) -> ReconciliationOut:
        return cls(
            checked_at=r.checked_at,
            trigger=r.trigger,
            state=r.state,
            ok=r.state == "ok",
            discrepancies=r.discrepancies,
            missing=r.missing,
            duplicated=r.duplicated,
            unknown=r.unknown,
            expected=r.expected,
            held=r.held,
            summary=r.summary,
            error=r.error,
            findings=[
                ReconciliationFindingOut(
                    kind=f.kind, record_id=f.record_id, key=f.key, postings=f.postings, detail=f.detail
                )
                for f in r.findings[:MAX_FINDINGS_SHOWN]
            ],
            records_link=r.records_link,
        )


class OrgStatusOut(BaseModel):
    org_id: str
    name: str
    connector_type: str
    enabled: bool
    timezone: str
    last_successful_sync_at: datetime | None
    pending: int
    failed: int
    failed_in_last_sync: int | None = Field(description="None when no sync has ended yet")
    health: HealthOut
    running: RunningOut | None
    next_run_at: datetime | None = Field(description="In the org's timezone; None for a manual schedule")
    schedule_description: str
    last_failed_run_id: str | None = Field(
        default=None, description="The latest ended run when it failed; its sync-log entry says why"
    )
    outcome_unknown: int = Field(
        default=0, description="Records left in flight by a run that ended; checked on the next sync"
    )
    reconciliation: ReconciliationOut | None = Field(
        default=None, description="The latest ledger reconciliation; None before the first"
    )

    @classmethod
    def of(cls, s: OrgStatus) -> OrgStatusOut:
        running = s.running
        return cls(
            org_id=s.org_id,
            name=s.name,
            connector_type=s.connector_type,
            enabled=s.enabled,
            timezone=s.timezone,
            last_successful_sync_at=s.last_successful_sync_at,
            pending=s.pending,
            failed=s.failed,
            failed_in_last_sync=s.failed_in_last_sync,
            health=HealthOut(level=s.health.level.value, reason=s.health.reason),
            running=(
                RunningOut(
                    run_id=running.run_id,
                    status=running.status,
                    done=running.done,
                    total=running.total,
                    started_at=running.started_at,
                )
                if running
                else None
            ),
            next_run_at=s.next_run_at,
            schedule_description=s.schedule_description,
            last_failed_run_id=s.last_failed_run_id,
            outcome_unknown=s.outcome_unknown,
            reconciliation=ReconciliationOut.of(s.reconciliation) if s.reconciliation else None,
        )
