"""Alert rules: which conditions hold, which alerts open or clear, and what each audience is told.

Facts come in (read by `store.alerts`), decisions go out (applied by `service.alerting`); the
clock is a parameter. A condition has an alert key; it yields one notice when it opens and one
when it clears, however often the rules run in between. Texts are for administrators who are
not engineers: they name the organization, the record type and the error, never a person or
an amount.
"""

from __future__ import annotations

from collections import defaultdict
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


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Audience(StrEnum):
    ORG_ADMINS = "org_admins"
    GLOBAL_ADMINS = "global_admins"


@dataclass(frozen=True)
class FailingRecord:
    """A record that is not exported and has failed `consecutive_failures` attempts in a row."""

    record_id: str
    record_type: str
    consecutive_failures: int
    error: str | None


@dataclass(frozen=True)
class OrgFacts:
    """What the rules need to know about one organization at one moment."""

    org_id: str
    name: str
    enabled: bool = True
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    failing_records: tuple[FailingRecord, ...] = ()
    # Failed attempts within the org's error window that no later export has put right.
    recent_errors: int = 0
    # Pending records approved longer ago than the org's pending limit, and the oldest approval.
    overdue_pending: int = 0
    oldest_pending_at: datetime | None = None


@dataclass(frozen=True)
class ActiveAlert:
    """An open condition as `alert_state` holds it."""

    alert_key: str
    rule: Rule
    org_id: str | None
    opened_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    # Whether global administrators received the opening notice (they may not, under consolidation).
    global_admins_told: bool = False


@dataclass(frozen=True)
class AlertOpening:
    alert_key: str
    rule: Rule
    org_id: str | None
    details: Mapping[str, Any]


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


def _title(text: str) -> str:
    return text if len(text) <= MAX_TITLE_LENGTH else text[: MAX_TITLE_LENGTH - 1] + "…"


def _age(now: datetime, then: datetime) -> str:
    hours = int((now - then).total_seconds() // 3600)
    return plural(hours, "hour") if hours < 72 else plural(hours // 24, "day")


def opening_key(alert_key: str, opened_at: datetime) -> str:
    """Dedupe key of the notice that an alert opened: one per occurrence of the condition."""
    # In UTC, as the database gives opened_at back, so that the key is the same on every read.
    return f"{alert_key}@{opened_at.astimezone(UTC).isoformat()}"


def resolution_key(alert_key: str, opened_at: datetime) -> str:
    return f"{opening_key(alert_key, opened_at)}#resolved"


def _key(rule: Rule, org_id: str, record_id: str | None = None) -> str:
    return f"{rule}:{org_id}" if record_id is None else f"{rule}:{org_id}:{record_id}"


@dataclass(frozen=True)
class _Condition:
    rule: Rule
    org: OrgFacts
    details: Mapping[str, Any]


def _conditions(facts: Sequence[OrgFacts], now: datetime) -> dict[str, _Condition]:
    """Every condition that holds now, by alert key."""
    held: dict[str, _Condition] = {}
    for org in facts:
        t = org.thresholds
        for r in org.failing_records:
            if r.consecutive_failures >= t.consecutive_failures:
                details = {
                    "record_id": r.record_id,
                    "record_type": r.record_type,
                    "consecutive_failures": r.consecutive_failures,
                    "error": r.error,
                }
                held[_key(Rule.CONSECUTIVE_FAILURES, org.org_id, r.record_id)] = _Condition(
                    Rule.CONSECUTIVE_FAILURES, org, details
                )
        if org.recent_errors > t.error_threshold:
            details = {"errors": org.recent_errors, "window_hours": t.error_window_hours}
            held[_key(Rule.ERROR_THRESHOLD, org.org_id)] = _Condition(Rule.ERROR_THRESHOLD, org, details)
        oldest = org.oldest_pending_at
        if (
            org.enabled
            and org.overdue_pending > 0
            and oldest is not None
            and (now - oldest).total_seconds() > t.pending_hours * 3600
        ):
            details = {"overdue": org.overdue_pending, "oldest_approved_at": oldest.isoformat()}
            held[_key(Rule.STALE_PENDING, org.org_id)] = _Condition(Rule.STALE_PENDING, org, details)
    return held


_RULE_SUMMARIES = {
    Rule.CONSECUTIVE_FAILURES: "records keep failing",
    Rule.ERROR_THRESHOLD: "many sync errors",
    Rule.STALE_PENDING: "approved records waiting too long",
}


def _opening(c: _Condition, now: datetime) -> tuple[Severity, str, str, str]:
    """Severity, title, text and link of a non-record condition's alert."""
    org, t, d = c.org, c.org.thresholds, c.details
    if c.rule == Rule.ERROR_THRESHOLD:
        return (
            Severity.CRITICAL,
            f"Many sync errors in {org.name}",
            f"In the last {plural(t.error_window_hours, 'hour')}, {plural(d['errors'], 'attempt')} to post "
            f"{org.name}'s records to the accounting system failed and have not succeeded since. "
            f"This alert starts above {t.error_threshold}. Open the status screen to see the failed records.",
            status_link(org.org_id, "failed"),
        )
    assert org.oldest_pending_at is not None
    return (
        Severity.WARNING,
        f"Approved records are waiting in {org.name}",
        f"{plural(d['overdue'], 'approved record')} in {org.name} have waited more than "
        f"{plural(t.pending_hours, 'hour')} to be posted to the accounting system, although the "
        f"connector is switched on. The oldest was approved {_age(now, org.oldest_pending_at)} ago. "
        "Check the sync schedule and the latest runs.",
        status_link(org.org_id, "pending"),
    )


def _failing_notice(org: OrgFacts, records: Sequence[Mapping[str, Any]], now: datetime) -> Notice:
    """One notice for all of an org's records that crossed the failure limit in this evaluation."""
    ids = [str(r["record_id"]) for r in records]
    if len(records) == 1:
        r = records[0]
        title = f"A record in {org.name} keeps failing"
        body = (
            f"The {record_label(r['record_type'])} {r['record_id']} in {org.name} has failed "
            f"{r['consecutive_failures']} times in a row. The last error was: {error_text(r['error'])}"
        )
    else:
        lines = [
            f"- {record_label(r['record_type'])} {r['record_id']}: {error_text(r['error'])}"
            for r in records[:MAX_LISTED]
        ]
        if len(records) > MAX_LISTED:
            lines.append(f"- and {len(records) - MAX_LISTED} more")
        title = f"{len(records)} records in {org.name} keep failing"
        body = (
            f"These records in {org.name} have failed {org.thresholds.consecutive_failures} or more "
            "times in a row:\n" + "\n".join(lines)
        )
    them = "it" if len(records) == 1 else "them"
    body += f"\nOpen the status screen to see {them}, and retry once the cause is fixed."
    key = opening_key(f"{Rule.CONSECUTIVE_FAILURES}:{org.org_id}", now)
    link = status_link(org.org_id, "failed", ids)
    return Notice(Audience.ORG_ADMINS, org.org_id, Severity.WARNING, _title(title), body, link, key)


def _failing_resolved(org_id: str, name: str, alerts: Sequence[ActiveAlert], now: datetime) -> Notice:
    labels = [
        f"{record_label(str(a.details.get('record_type')))} {a.details.get('record_id')}" for a in alerts
    ]
    shown = ", ".join(labels[:MAX_LISTED]) + (
        f" and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else ""
    )
    title = f"Resolved: {plural(len(alerts), 'failing record')} in {name}"
    body = f"No longer failing in {name}: {shown}."
    key = resolution_key(f"{Rule.CONSECUTIVE_FAILURES}:{org_id}", now)
    return Notice(Audience.ORG_ADMINS, org_id, Severity.INFO, _title(title), body, status_link(org_id), key)


def _resolution(audience: Audience, a: ActiveAlert, org: OrgFacts | None) -> Notice:
    org_id = a.org_id or ""
    name = org.name if org else org_id
    if a.rule == Rule.ERROR_THRESHOLD:
        title = f"Resolved: sync errors in {name}"
        now_errors = org.recent_errors if org else 0
        body = f"{name} is back below the alert level: {plural(now_errors, 'sync error')} not yet put right."
    elif org is not None and not org.enabled:
        title = f"Resolved: approved records waiting in {name}"
        body = f"The {name} connector was switched off, so waiting records no longer raise this alert."
    else:
        title = f"Resolved: approved records waiting in {name}"
        body = f"No approved record in {name} is waiting too long to be posted any more."
    key = resolution_key(a.alert_key, a.opened_at)
    return Notice(audience, a.org_id, Severity.INFO, _title(title), body, status_link(org_id), key)


def _platform_notice(held: Mapping[str, _Condition], now: datetime) -> Notice:
    rules: dict[str, set[Rule]] = defaultdict(set)
    names: dict[str, str] = {}
    for c in held.values():
        rules[c.org.org_id].add(c.rule)
        names[c.org.org_id] = c.org.name
    lines = [
        f"- {names[o]}: {'; '.join(_RULE_SUMMARIES[r] for r in sorted(rules[o]))}" for o in sorted(rules)
    ]
    body = (
        "Several organizations are alerting at the same time, which may point to a problem with the "
        "platform or an accounting system:\n" + "\n".join(lines) + "\n"
        "Each organization's administrators have been told about their own organization."
    )
    title = f"{len(rules)} organizations need attention at once"
    key = opening_key(PLATFORM_KEY, now)
    return Notice(Audience.GLOBAL_ADMINS, None, Severity.CRITICAL, title, body, PLATFORM_LINK, key)


def _platform_resolved(a: ActiveAlert, held: Mapping[str, _Condition], threshold: int) -> Notice:
    still = sorted({c.org.name for c in held.values()})
    body = f"Fewer than {threshold} organizations are alerting now."
    if still:
        body += f" Still alerting: {', '.join(still)}."
    key = resolution_key(a.alert_key, a.opened_at)
    title = "Resolved: organizations alerting at once"
    return Notice(Audience.GLOBAL_ADMINS, None, Severity.INFO, title, body, PLATFORM_LINK, key)


def evaluate(
    facts: Sequence[OrgFacts],
    active: Sequence[ActiveAlert],
    now: datetime,
    platform_threshold: int = DEFAULT_PLATFORM_THRESHOLD,
) -> Decisions:
    """Compare the conditions that hold now with the open alerts: what opens, what clears, who is told.

    Org administrators hear about every condition of their org. Global administrators hear about
    error-threshold alerts one org at a time, unless `platform_threshold` or more orgs are alerting:
    then they get one platform alert listing the orgs instead.
    """
    held = _conditions(facts, now)
    by_key = {a.alert_key: a for a in active}
    orgs = {o.org_id: o for o in facts}
    opened = [AlertOpening(k, c.rule, c.org.org_id, c.details) for k, c in held.items() if k not in by_key]
    cleared = [a for a in active if a.rule != Rule.PLATFORM and a.alert_key not in held]
    notices: list[Notice] = []

    new_failing: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for o in opened:
        c = held[o.alert_key]
        if o.rule == Rule.CONSECUTIVE_FAILURES:
            new_failing[c.org.org_id].append(o.details)
        else:
            severity, title, body, link = _opening(c, now)
            key = opening_key(o.alert_key, now)
            notices.append(Notice(Audience.ORG_ADMINS, c.org.org_id, severity, title, body, link, key))
    notices.extend(_failing_notice(orgs[org_id], recs, now) for org_id, recs in new_failing.items())

    resolved_failing: dict[str, list[ActiveAlert]] = defaultdict(list)
    for a in cleared:
        org = orgs.get(a.org_id or "")
        if a.rule == Rule.CONSECUTIVE_FAILURES:
            resolved_failing[a.org_id or ""].append(a)
            continue
        notices.append(_resolution(Audience.ORG_ADMINS, a, org))
        if a.rule == Rule.ERROR_THRESHOLD and a.global_admins_told:
            notices.append(_resolution(Audience.GLOBAL_ADMINS, a, org))
    for org_id, alerts in resolved_failing.items():
        name = orgs[org_id].name if org_id in orgs else org_id
        notices.append(_failing_resolved(org_id, name, alerts, now))

    consolidated = len({c.org.org_id for c in held.values()}) >= platform_threshold
    platform = by_key.get(PLATFORM_KEY)
    cleared_keys = [a.alert_key for a in cleared]
    if consolidated and platform is None:
        orgs_alerting = sorted({c.org.org_id for c in held.values()})
        opened.append(AlertOpening(PLATFORM_KEY, Rule.PLATFORM, None, {"orgs": orgs_alerting}))
        notices.append(_platform_notice(held, now))
    elif not consolidated and platform is not None:
        cleared_keys.append(PLATFORM_KEY)
        notices.append(_platform_resolved(platform, held, platform_threshold))
    if not consolidated:
        # Also catches up on alerts that opened while consolidated and are still open after it ended.
        for k, c in held.items():
            told = by_key[k].global_admins_told if k in by_key else False
            if c.rule == Rule.ERROR_THRESHOLD and not told:
                opened_at = by_key[k].opened_at if k in by_key else now
                severity, title, body, link = _opening(c, now)
                key = opening_key(k, opened_at)
                notices.append(Notice(Audience.GLOBAL_ADMINS, c.org.org_id, severity, title, body, link, key))
    return Decisions(tuple(opened), tuple(cleared_keys), tuple(notices))


def run_failed_notice(
    org_id: str, org_name: str, connector_type: str, run_id: str, error: str | None
) -> Notice:
    """The org administrators' notice when every retry of a sync run failed."""
    connector = CONNECTOR_LABELS.get(connector_type, connector_type)
    body = (
        f"The sync of {org_name} to {connector} stopped after all its retries. "
        f"The error was: {error_text(error)}\n"
        "Records that were not posted are still waiting and will be sent by the next sync; "
        "none is posted twice."
    )
    return Notice(
        Audience.ORG_ADMINS,
        org_id,
        Severity.CRITICAL,
        _title(f"Sync of {org_name} to {connector} failed"),
        body,
        status_link(org_id, "pending"),
        f"{Rule.RUN_FAILED}:{run_id}",
    )
