"""One sync run followed from click to ledger: who started it, how long it took, its retries,
its error in words, its money, and where Dagster shows it.

Dagster's run storage says when and how the run went (and its whole-batch retries, as
STEP_UP_FOR_RETRY events); accsync's tables say what it did to each record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import sqlalchemy as sa

from accsync_pipeline.domain.failures import cause_in_words
from accsync_pipeline.domain.run_starter import started_by
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG, TRIGGER_TAG, USER_TAG
from accsync_pipeline.service.dagster_gateway import dagster_ui_url
from accsync_pipeline.service.history import outcome_text
from accsync_pipeline.service.launch import ACTIVE_STATUSES
from accsync_pipeline.store import record_search
from accsync_pipeline.store import runs as run_store

_SUMMARY_STATUS = {"started": "STARTED", "success": "SUCCESS", "failure": "FAILURE"}


def dagster_run_url(run_id: str) -> str:
    """The run in the Dagster UI: ACCSYNC_DAGSTER_UI_URL when the UI is elsewhere than the API."""
    return f"{dagster_ui_url().rstrip('/')}/runs/{run_id}"


@dataclass(frozen=True)
class RetryAttempt:
    """A whole-batch retry Dagster scheduled: when the try failed, why, and the wait before the next."""

    failed_at: datetime
    cause: str
    wait_seconds: int | None


@dataclass(frozen=True)
class RetryState:
    """Where a live run stands in its retries: `retry` of `max_retries`, starting in `seconds` (or now)."""

    retry: int
    max_retries: int
    seconds: int | None

    @property
    def text(self) -> str:
        of = f" of {self.max_retries}" if self.max_retries >= self.retry else ""
        if self.seconds is None:
            return f"Retry {self.retry}{of} running"
        return f"Retry {self.retry}{of} in {self.seconds} s"


@dataclass
class RunDetails:
    run_id: str
    org_id: str
    status: str  # Dagster's: QUEUED, STARTED, SUCCESS, FAILURE, CANCELED, ...
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    starter: str
    trigger: str | None
    total: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    error: str | None = None
    retries: list[RetryAttempt] = field(default_factory=list)
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    dagster_url: str = ""

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.ended_at or datetime.now(UTC)) - self.started_at

    @property
    def outcome(self) -> str:
        return outcome_text(self.status, self.exported, self.total, self.error)

    @property
    def active(self) -> bool:
        # A run being cancelled is shown as ending, not as one to wait for.
        return self.status in ACTIVE_STATUSES and self.status != "CANCELING"


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def retry_attempts(instance: dg.DagsterInstance, run_id: str) -> list[RetryAttempt]:
    """The run's whole-batch retries, oldest first, each with its cause in words."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY, limit=100
    ).records
    attempts = []
    for record in records:
        event = record.event_log_entry.dagster_event
        data = getattr(event, "event_specific_data", None)
        error = getattr(data, "error", None)
        message = getattr(error, "message", None) or record.event_log_entry.user_message
        wait = getattr(data, "seconds_to_wait", None)
        attempts.append(
            RetryAttempt(
                failed_at=datetime.fromtimestamp(record.event_log_entry.timestamp, UTC),
                cause=cause_in_words(message) or "no message",
                wait_seconds=int(wait) if wait is not None else None,
            )
        )
    return attempts


def retry_state(
    instance: dg.DagsterInstance, run_id: str, max_retries: int, now: datetime
) -> RetryState | None:
    """For a live run: 'retry 2 of 3 in 60 s' while Dagster waits, 'retry 2 of 3 running' after; None
    before any retry."""
    attempts = retry_attempts(instance, run_id)
    if not attempts:
        return None
    latest = attempts[-1]
    seconds = None
    if latest.wait_seconds is not None:
        left = (latest.failed_at + timedelta(seconds=latest.wait_seconds) - now).total_seconds()
        seconds = int(left) + 1 if left > 0 else None
    return RetryState(len(attempts), max_retries, seconds)


def run_details(
    instance: dg.DagsterInstance,
    conn: sa.Connection,
    org_id: str,
    run_id: str,
    user_names: Mapping[str, str] | None = None,
) -> RunDetails | None:
    """The run if it synced this org (by Dagster's tags or accsync's summary); None otherwise."""
    summary = run_store.find_run(conn, run_id)
    record = instance.get_run_record_by_id(run_id)
    tags: Mapping[str, str] = record.dagster_run.tags if record is not None else {}
    owner = summary.org_id if summary is not None else (tags.get(ORG_TAG) or tags.get(PARTITION_TAG))
    if owner != org_id:
        return None
    if summary is not None and not tags:
        tags = {TRIGGER_TAG: summary.trigger, **({USER_TAG: summary.user_id} if summary.user_id else {})}
    details = RunDetails(
        run_id=run_id,
        org_id=org_id,
        status=(
            record.dagster_run.status.value
            if record is not None
            else _SUMMARY_STATUS.get(summary.status, summary.status.upper())  # type: ignore[union-attr]
        ),
        created_at=record.create_timestamp.astimezone(UTC) if record is not None else None,
        started_at=_time(record.start_time) if record is not None else None,
        ended_at=_time(record.end_time) if record is not None else None,
        starter=started_by(tags, user_names),
        trigger=tags.get(TRIGGER_TAG),
        dagster_url=dagster_run_url(run_id) if record is not None else "",
    )
    if summary is not None:
        details.started_at = details.started_at or summary.started_at
        details.ended_at = details.ended_at or summary.finished_at
        details.total, details.error = summary.total, summary.error
        details.exported, details.skipped, details.failed = summary.exported, summary.skipped, summary.failed
    if record is not None:
        details.retries = retry_attempts(instance, run_id)
    details.money = record_search.run_money(conn, [run_id]).get(run_id, {})
    return details
