"""The vocabulary of alerts: rules, facts, open alerts, notices, their keys and links. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from accsync_pipeline.domain.org import AlertThresholds

PLATFORM_KEY = "platform"
DEFAULT_PLATFORM_THRESHOLD = 2
# The global overview screen of the admin app: every org at once.
PLATFORM_LINK = "/orgs"
# Column sizes of `notifications`; a link too long for its column keeps only the status filter.
MAX_LINK_LENGTH = 500
MAX_TITLE_LENGTH = 200
MAX_ERROR_LENGTH = 300
MAX_LISTED = 5

RECORD_TYPE_LABELS = {"reimbursement": "expense reimbursement", "honorarium": "honorarium"}
CONNECTOR_LABELS = {"xledger": "Xledger", "dynamics": "Dynamics 365 Business Central"}


class Rule(StrEnum):
    CONSECUTIVE_FAILURES = "consecutive_failures"
    ERROR_THRESHOLD = "error_threshold"
    STALE_PENDING = "stale_pending"
    PLATFORM = "platform"
    RUN_FAILED = "run_failed"
    RUN_REFUSED = "run_refused"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Audience(StrEnum):
    ORG_ADMINS = "org_admins"
    GLOBAL_ADMINS = "global_admins"


@dataclass(frozen=True)
class FailingRecord:
    """A record that is not exported and has failed `consecutive_failures` attempts in a row: a fact,
    and the details of its consecutive_failures alert."""

    record_id: str
    record_type: str
    consecutive_failures: int
    error: str | None


@dataclass(frozen=True)
class ErrorsDetails:
    """Failed attempts not put right within the org's window (rule error_threshold)."""

    errors: int
    window_hours: int


@dataclass(frozen=True)
class WaitingDetails:
    """Approved records waiting longer than the org's limit, and the oldest approval (stale_pending)."""

    overdue: int
    oldest_approved_at: datetime


@dataclass(frozen=True)
class PlatformDetails:
    """The orgs alerting when the platform alert opened (rule platform)."""

    orgs: tuple[str, ...]


@dataclass(frozen=True)
class UnreadDetails:
    """Stored details that are not what their rule writes (`alert_details.parse_details`); kept as
    stored, so they are written back unchanged. The values stay out of the repr: no rule wrote them."""

    values: Mapping[str, Any] = field(repr=False, hash=False)
    problem: str  # names fields, never values


# What an alert records about its condition: one typed value per rule.
AlertDetails = FailingRecord | ErrorsDetails | WaitingDetails | PlatformDetails | UnreadDetails


@dataclass(frozen=True)
class OrgFacts:
    """What the rules need to know about one organization at one moment."""

    org_id: str
    name: str
    enabled: bool = True
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    failing_records: tuple[FailingRecord, ...] = ()
    # Records still failing whose alert is open already, when `failing_records` leaves them out:
    # they hold but cannot change, so the alert reader does not read them again every tick.
    failing_alerted: int = 0
    # Failed attempts within the org's error window that no later export has put right.
    recent_errors: int = 0
    # Approved records not yet in the ledger (never taken in, pending, in flight, failed) approved
    # longer ago than the org's pending limit, and the oldest approval among them.
    overdue_pending: int = 0
    oldest_pending_at: datetime | None = None
    # Without an org administrator, the org's alerts go to the global administrators.
    has_org_admins: bool = True


@dataclass(frozen=True)
class ActiveAlert:
    """An open condition as `alert_state` holds it."""

    alert_key: str
    rule: Rule
    org_id: str | None
    opened_at: datetime
    details: AlertDetails | None = None  # None: not read (tests of what does not depend on them)
    # Whether global administrators received the opening notice (they may not, under consolidation).
    global_admins_told: bool = False


@dataclass(frozen=True)
class AlertOpening:
    alert_key: str
    rule: Rule
    org_id: str | None
    details: AlertDetails


@dataclass(frozen=True)
class Notice:
    """One notification, before it is addressed to the users of its audience."""

    audience: Audience
    org_id: str | None
    severity: Severity
    title: str
    body: str
    link: str
    dedupe_key: str


@dataclass(frozen=True)
class Decisions:
    opened: tuple[AlertOpening, ...] = ()
    cleared: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()


def status_link(org_id: str, status: str | None = None, record_ids: Sequence[str] = ()) -> str:
    """The admin app's status screen of an org, filtered; record ids are dropped when they do not fit."""
    link = f"/orgs/{quote(org_id, safe='')}"
    if status is None:
        return link
    link = f"{link}?status={status}"
    with_records = f"{link}&records={','.join(quote(r, safe='') for r in record_ids)}"
    return with_records if record_ids and len(with_records) <= MAX_LINK_LENGTH else link


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def record_label(record_type: str) -> str:
    return RECORD_TYPE_LABELS.get(record_type, record_type)


def error_text(error: str | None) -> str:
    if not error:
        return "no error message was recorded"
    error = " ".join(error.split())
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def title_text(text: str) -> str:
    return text if len(text) <= MAX_TITLE_LENGTH else text[: MAX_TITLE_LENGTH - 1] + "…"


def age_text(now: datetime, then: datetime) -> str:
    hours = int((now - then).total_seconds() // 3600)
    return plural(hours, "hour") if hours < 72 else plural(hours // 24, "day")


def opening_key(alert_key: str, opened_at: datetime) -> str:
    """Dedupe key of the notice that an alert opened: one per occurrence of the condition."""
    # In UTC, as the database gives opened_at back, so that the key is the same on every read.
    return f"{alert_key}@{opened_at.astimezone(UTC).isoformat()}"


def resolution_key(alert_key: str, opened_at: datetime) -> str:
    return f"{opening_key(alert_key, opened_at)}#resolved"


def alert_key_of(rule: Rule, org_id: str, record_id: str | None = None) -> str:
    return f"{rule}:{org_id}" if record_id is None else f"{rule}:{org_id}:{record_id}"


@dataclass(frozen=True)
class Condition:
    rule: Rule
    org: OrgFacts
    # None for the stand-in of an org's failing records already alerted (`alerts._with_alerted_failing`).
    details: AlertDetails | None = None
