"""What each audience is told when an alert opens or clears: plain words for administrators.

Texts name the organization, the record type and the error, never a person or an amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from accsync_pipeline.domain.alert_model import (
    CONNECTOR_LABELS,
    MAX_LISTED,
    PLATFORM_KEY,
    PLATFORM_LINK,
    ActiveAlert,
    Audience,
    Condition,
    ErrorsDetails,
    FailingRecord,
    Notice,
    OrgFacts,
    Rule,
    Severity,
    WaitingDetails,
    age_text,
    alert_key_of,
    error_text,
    opening_key,
    plural,
    record_label,
    resolution_key,
    status_link,
    title_text,
)

RULE_SUMMARIES = {
    Rule.CONSECUTIVE_FAILURES: "records keep failing",
    Rule.ERROR_THRESHOLD: "many sync errors",
    Rule.STALE_PENDING: "approved records waiting too long",
}


def opening_text(c: Condition, now: datetime) -> tuple[Severity, str, str, str]:
    """Severity, title, text and link of a non-record condition's alert."""
    org, t, d = c.org, c.org.thresholds, c.details
    if isinstance(d, ErrorsDetails):
        return (
            Severity.CRITICAL,
            f"Many sync errors in {org.name}",
            f"In the last {plural(t.error_window_hours, 'hour')}, {plural(d.errors, 'attempt')} to post "
            f"{org.name}'s records to the accounting system failed and have not succeeded since. "
            f"This alert starts above {t.error_threshold}. Open the status screen to see the failed records.",
            status_link(org.org_id, "failed"),
        )
    if not isinstance(d, WaitingDetails):
        raise ValueError(f"no opening text for a {c.rule} condition with {type(d).__name__}")
    return (
        Severity.WARNING,
        f"Approved records are waiting in {org.name}",
        f"{plural(d.overdue, 'approved record')} in {org.name} "
        f"{'has' if d.overdue == 1 else 'have'} waited more than "
        f"{plural(t.pending_hours, 'hour')} to be posted to the accounting system, although the "
        f"connector is switched on. The oldest was approved {age_text(now, d.oldest_approved_at)} ago. "
        "Whether no sync took them in or a sync failed to post them, check the latest runs, "
        "the failed records and the sync schedule.",
        status_link(org.org_id, "pending"),
    )


def failing_notice(org: OrgFacts, records: Sequence[FailingRecord], now: datetime) -> Notice:
    """One notice for all of an org's records that crossed the failure limit in this evaluation."""
    ids = [r.record_id for r in records]
    if len(records) == 1:
        r = records[0]
        title = f"A record in {org.name} keeps failing"
        body = (
            f"The {record_label(r.record_type)} {r.record_id} in {org.name} has failed "
            f"{r.consecutive_failures} times in a row. The last error was: {error_text(r.error)}"
        )
    else:
        lines = [
            f"- {record_label(r.record_type)} {r.record_id}: {error_text(r.error)}"
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
    return Notice(Audience.ORG_ADMINS, org.org_id, Severity.WARNING, title_text(title), body, link, key)


def _failing_label(org_id: str, a: ActiveAlert) -> str:
    if isinstance(a.details, FailingRecord):
        return f"{record_label(a.details.record_type)} {a.details.record_id}"
    # Stored details that did not parse: the record is named by the alert's key.
    return f"record {a.alert_key.removeprefix(alert_key_of(a.rule, org_id) + ':')}"


def failing_resolved_notice(org_id: str, name: str, alerts: Sequence[ActiveAlert], now: datetime) -> Notice:
    labels = [_failing_label(org_id, a) for a in alerts]
    shown = ", ".join(labels[:MAX_LISTED]) + (
        f" and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else ""
    )
    title = f"Resolved: {plural(len(alerts), 'failing record')} in {name}"
    body = f"No longer failing in {name}: {shown}."
    key = resolution_key(f"{Rule.CONSECUTIVE_FAILURES}:{org_id}", now)
    return Notice(
        Audience.ORG_ADMINS, org_id, Severity.INFO, title_text(title), body, status_link(org_id), key
    )


def resolution_notice(audience: Audience, a: ActiveAlert, org: OrgFacts | None) -> Notice:
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
    return Notice(audience, a.org_id, Severity.INFO, title_text(title), body, status_link(org_id), key)


def platform_notice(held: Mapping[str, Condition], now: datetime) -> Notice:
    rules: dict[str, set[Rule]] = defaultdict(set)
    names: dict[str, str] = {}
    for c in held.values():
        rules[c.org.org_id].add(c.rule)
        names[c.org.org_id] = c.org.name
    unattended = {c.org.org_id for c in held.values() if not c.org.has_org_admins}
    lines = [
        f"- {names[o]}: {'; '.join(RULE_SUMMARIES[r] for r in sorted(rules[o]))}"
        + (" (no organization administrator: its alerts come to you)" if o in unattended else "")
        for o in sorted(rules)
    ]
    if not unattended:
        told = "Each organization's administrators have been told about their own organization."
    elif unattended == set(rules):
        told = "None of these organizations has an administrator: their alerts come to you."
    else:
        told = "The administrators of the other organizations have been told about their own organization."
    body = (
        "Several organizations are alerting at the same time, which may point to a problem with the "
        "platform or an accounting system:\n" + "\n".join(lines) + "\n" + told
    )
    title = f"{len(rules)} organizations need attention at once"
    key = opening_key(PLATFORM_KEY, now)
    return Notice(Audience.GLOBAL_ADMINS, None, Severity.CRITICAL, title, body, PLATFORM_LINK, key)


def platform_resolved_notice(a: ActiveAlert, held: Mapping[str, Condition], threshold: int) -> Notice:
    still = sorted({c.org.name for c in held.values()})
    body = f"Fewer than {threshold} organizations are alerting now."
    if still:
        body += f" Still alerting: {', '.join(still)}."
    key = resolution_key(a.alert_key, a.opened_at)
    title = "Resolved: organizations alerting at once"
    return Notice(Audience.GLOBAL_ADMINS, None, Severity.INFO, title, body, PLATFORM_LINK, key)


def run_failed_notice(
    org_id: str, org_name: str, connector_type: str, run_id: str, error: str | None, retries: int = 0
) -> Notice:
    """The org administrators' notice when a sync run failed for good, with its cause in words."""
    connector = CONNECTOR_LABELS.get(connector_type, connector_type)
    how = (
        f"stopped after {retries} {'retry' if retries == 1 else 'retries'}"
        if retries > 0
        else "stopped; it was not retried"
    )
    body = (
        f"The sync of {org_name} to {connector} {how}. "
        f"The cause was: {error_text(error)}\n"
        "Records that were not posted are still waiting and will be sent by the next sync; "
        "none is posted twice."
    )
    return Notice(
        Audience.ORG_ADMINS,
        org_id,
        Severity.CRITICAL,
        title_text(f"Sync of {org_name} to {connector} failed"),
        body,
        status_link(org_id, "pending"),
        f"{Rule.RUN_FAILED}:{run_id}",
    )


def run_refused_notice(org_id: str | None, run_id: str, reason: str | None) -> Notice:
    """An ops note for global administrators: a run launched through Dagster was refused before it started."""
    which = f"for {org_id} " if org_id else ""
    body = (
        f"A sync run {which}launched through Dagster (run {run_id}) was refused before it touched "
        f"anything: {error_text(reason)}\nNothing was posted and no organization was alerted."
    )
    return Notice(
        Audience.GLOBAL_ADMINS,
        org_id,
        Severity.INFO,
        title_text(f"A sync run {which}was refused"),
        body,
        PLATFORM_LINK,
        f"{Rule.RUN_REFUSED}:{run_id}",
    )
