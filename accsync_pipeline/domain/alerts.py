"""Alert rules: which conditions hold, which alerts open or clear, and what each audience is told.

Facts come in (read by `store.alerts`), decisions go out (applied by `service.alerting`); the
clock is a parameter. A condition has an alert key; it yields one notice when it opens and one
when it clears, however often the rules run in between. Texts are for administrators who are
not engineers: they name the organization, the record type and the error, never a person or
an amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from accsync_pipeline.domain.alert_model import (
    DEFAULT_PLATFORM_THRESHOLD,
    PLATFORM_KEY,
    ActiveAlert,
    AlertOpening,
    Audience,
    Condition,
    Decisions,
    ErrorsDetails,
    FailingRecord,
    Notice,
    OrgFacts,
    PlatformDetails,
    Rule,
    Severity,
    WaitingDetails,
    alert_key_of,
    opening_key,
    resolution_key,
    status_link,
)
from accsync_pipeline.domain.alert_texts import (
    failing_notice,
    failing_resolved_notice,
    opening_text,
    platform_notice,
    platform_resolved_notice,
    resolution_notice,
    run_failed_notice,
    run_refused_notice,
)

__all__ = [
    "DEFAULT_PLATFORM_THRESHOLD",
    "ActiveAlert",
    "AlertOpening",
    "Audience",
    "Decisions",
    "FailingRecord",
    "Notice",
    "OrgFacts",
    "Rule",
    "Severity",
    "evaluate",
    "opening_key",
    "resolution_key",
    "run_failed_notice",
    "run_refused_notice",
    "status_link",
]


def _conditions(facts: Sequence[OrgFacts], now: datetime) -> dict[str, Condition]:
    """Every condition that holds now, by alert key."""
    held: dict[str, Condition] = {}
    for org in facts:
        t = org.thresholds
        for r in org.failing_records:
            if r.consecutive_failures >= t.consecutive_failures:
                held[alert_key_of(Rule.CONSECUTIVE_FAILURES, org.org_id, r.record_id)] = Condition(
                    Rule.CONSECUTIVE_FAILURES, org, r
                )
        if org.recent_errors > t.error_threshold:
            details = ErrorsDetails(org.recent_errors, t.error_window_hours)
            held[alert_key_of(Rule.ERROR_THRESHOLD, org.org_id)] = Condition(
                Rule.ERROR_THRESHOLD, org, details
            )
        oldest = org.oldest_pending_at
        if (
            org.enabled
            and org.overdue_pending > 0
            and oldest is not None
            and (now - oldest).total_seconds() > t.pending_hours * 3600
        ):
            waiting = WaitingDetails(org.overdue_pending, oldest)
            held[alert_key_of(Rule.STALE_PENDING, org.org_id)] = Condition(Rule.STALE_PENDING, org, waiting)
    return held


def _with_alerted_failing(held: dict[str, Condition], facts: Sequence[OrgFacts]) -> dict[str, Condition]:
    """`held`, plus one stand-in per org whose failing records hold with their alerts open already.

    Only for counting and naming the orgs that are alerting: the stand-ins never open or clear.
    """
    alerting = dict(held)
    for org in facts:
        if org.failing_alerted:
            alerting.setdefault(
                alert_key_of(Rule.CONSECUTIVE_FAILURES, org.org_id),
                Condition(Rule.CONSECUTIVE_FAILURES, org),
            )
    return alerting


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
    # Only conditions that hold carry details; the stand-ins are not in `held`.
    opened = [
        AlertOpening(k, c.rule, c.org.org_id, c.details)
        for k, c in held.items()
        if k not in by_key and c.details is not None
    ]
    cleared = [a for a in active if a.rule != Rule.PLATFORM and a.alert_key not in held]
    notices: list[Notice] = []

    new_failing: dict[str, list[FailingRecord]] = defaultdict(list)
    for o in opened:
        c = held[o.alert_key]
        if isinstance(o.details, FailingRecord):  # a record's alert: one notice per org, below
            new_failing[c.org.org_id].append(o.details)
        else:
            severity, title, body, link = opening_text(c, now)
            key = opening_key(o.alert_key, now)
            notices.append(Notice(Audience.ORG_ADMINS, c.org.org_id, severity, title, body, link, key))
    notices.extend(failing_notice(orgs[org_id], recs, now) for org_id, recs in new_failing.items())

    resolved_failing: dict[str, list[ActiveAlert]] = defaultdict(list)
    for a in cleared:
        org = orgs.get(a.org_id or "")
        if a.rule == Rule.CONSECUTIVE_FAILURES:
            resolved_failing[a.org_id or ""].append(a)
            continue
        notices.append(resolution_notice(Audience.ORG_ADMINS, a, org))
        if a.rule == Rule.ERROR_THRESHOLD and a.global_admins_told:
            notices.append(resolution_notice(Audience.GLOBAL_ADMINS, a, org))
    for org_id, alerts in resolved_failing.items():
        name = orgs[org_id].name if org_id in orgs else org_id
        notices.append(failing_resolved_notice(org_id, name, alerts, now))

    alerting = _with_alerted_failing(held, facts)
    consolidated = len({c.org.org_id for c in alerting.values()}) >= platform_threshold
    platform = by_key.get(PLATFORM_KEY)
    cleared_keys = [a.alert_key for a in cleared]
    if consolidated and platform is None:
        orgs_alerting = sorted({c.org.org_id for c in alerting.values()})
        opened.append(AlertOpening(PLATFORM_KEY, Rule.PLATFORM, None, PlatformDetails(tuple(orgs_alerting))))
        notices.append(platform_notice(alerting, now))
    elif not consolidated and platform is not None:
        cleared_keys.append(PLATFORM_KEY)
        notices.append(platform_resolved_notice(platform, alerting, platform_threshold))
    if not consolidated:
        # Also catches up on alerts that opened while consolidated and are still open after it ended.
        for k, c in held.items():
            told = by_key[k].global_admins_told if k in by_key else False
            if c.rule == Rule.ERROR_THRESHOLD and not told:
                opened_at = by_key[k].opened_at if k in by_key else now
                severity, title, body, link = opening_text(c, now)
                key = opening_key(k, opened_at)
                notices.append(Notice(Audience.GLOBAL_ADMINS, c.org.org_id, severity, title, body, link, key))
    return Decisions(tuple(opened), tuple(cleared_keys), tuple(notices))
