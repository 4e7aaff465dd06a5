"""Reconcile one org's ledger: read what accsync exported and what the ledger holds of ours, compare, record.

Runs in full daily (the ledger checks job) and on demand (`accsync reconcile`). A sync
reports the latest stored reconciliation and runs a full one only when that is older than
`RECONCILIATION_MAX_AGE` (see `recent_report`). Each reconciliation is a row in
`ledger_reconciliations` (the status screen's line), and a discrepancy notifies the org's
administrators once per distinct set of findings; a later clean reconciliation says it is
resolved.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.errors import ConnectorError
from accsync_pipeline.domain.alert_model import status_link, title_text
from accsync_pipeline.domain.reconcile import Finding, Holding, Reconciliation, all_keys, reconcile
from accsync_pipeline.domain.records import LedgerKeys, SyncStatus
from accsync_pipeline.store import org_state
from accsync_pipeline.store import reconciliations as reconciliation_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.notifications import NotificationContent, insert_for

# A full reconciliation lists every key of ours the ledger holds: ~10 Xledger queries for an
# org with 50,000 records, and Xledger bills requests. Blindeforbundet syncs on every approval,
# so a sync does not reconcile in full: it reports the latest stored reconciliation while that
# is younger than this bound. The daily ledger checks job (05:30 Oslo) keeps every enabled
# org's reconciliation younger than a day, so a sync reconciles in full only for an org the
# daily job missed, a new org, or one whose last attempt could not read the ledger. A record
# deleted or posted twice by hand is reported by the next daily or on-demand reconciliation.
# One constant for every org: the cost is per request, not per org, and a day matches the
# daily job; `accsync reconcile --org ORG` answers at once when someone needs it sooner.
RECONCILIATION_MAX_AGE = timedelta(hours=24)


class HoldsLedger(Protocol):
    """The connector capability reconciliation needs: everything the ledger holds with our key prefix."""

    def ledger_holdings(self) -> Iterator[Holding]: ...


@dataclass(frozen=True)
class ReconciliationReport:
    org_id: str
    checked_at: datetime
    reconciliation_id: int
    result: Reconciliation | None
    error: str | None = None
    # Record type of each record a finding names (per-type asset checks split findings by it).
    record_types: dict[str, str] = field(default_factory=dict)
    trigger: str = ""  # sync | schedule | manual: what made the reconciliation
    # True when this report is an earlier, stored reconciliation (a sync within the age bound).
    reused: bool = False

    @property
    def clean(self) -> bool:
        return self.error is None and self.result is not None and self.result.clean

    def summary(self) -> str:
        if self.error is not None:
            return f"the ledger could not be read: {self.error}"
        assert self.result is not None
        return self.result.summary()


@dataclass
class _Expected:
    exported: list[LedgerKeys] = field(default_factory=list)
    in_transit: list[LedgerKeys] = field(default_factory=list)
    others: dict[str, tuple[str, str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


def _expected(conn: sa.Connection, org_id: str) -> _Expected:
    """What accsync holds of the org, every record with its legacy keys.

    Unlike a lookup, reconciliation does not narrow legacy keys to records approved before the
    database's key mark (`domain.legacy_keys`): it lists the ledger whole, so they cost it no
    request, and it is the check of that rule. A record an older accsync sent after all shows
    as posted twice under its own name, not as a stray key.
    """
    found = _Expected()
    legacy: list[tuple[str, tuple[str, str]]] = []
    for keys, status, record_type in org_state.record_keys(conn, org_id):
        found.types[keys.record_id] = record_type
        if status == SyncStatus.EXPORTED:
            found.exported.append(keys)
        elif status == SyncStatus.IN_FLIGHT:
            found.in_transit.append(keys)
        else:
            found.others[keys.idempotency_key.upper()] = (keys.record_id, status)
            found.others[keys.document_number.upper()] = (keys.record_id, status)
            legacy.extend((key.upper(), (keys.record_id, status)) for key in all_keys(keys)[2:])
    # A legacy key names a record only where it is no other record's current key.
    for key, owner in legacy:
        found.others.setdefault(key, owner)
    return found


def reconcile_org(
    engine: Engine,
    ledger: HoldsLedger,
    org_id: str,
    trigger: str,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ReconciliationReport:
    """Compare, store the finding, and notify on a discrepancy. A ledger that cannot be read is
    reported (and stored) as such, never raised: reconciliation must not fail a sync."""
    checked_at = now or datetime.now(UTC)
    with engine.connect() as conn:
        expected = _expected(conn, org_id)
    result: Reconciliation | None = None
    error: str | None = None
    try:
        result = reconcile(expected.exported, ledger.ledger_holdings(), expected.others, expected.in_transit)
    except ConnectorError as e:
        error = str(e) or type(e).__name__
    with engine.begin() as conn:
        previous = reconciliation_store.latest(conn, org_id)
        reconciliation_id = reconciliation_store.save(
            conn, org_id, checked_at, trigger, run_id, result, error
        )
        _notify(conn, org_id, result, previous, checked_at)
    named = {f.record_id for f in (result.findings if result else ()) if f.record_id}
    return ReconciliationReport(
        org_id,
        checked_at,
        reconciliation_id,
        result,
        error,
        {r: expected.types[r] for r in named if r in expected.types},
        trigger,
    )


def recent_report(
    engine: Engine, org_id: str, now: datetime, max_age: timedelta = RECONCILIATION_MAX_AGE
) -> ReconciliationReport | None:
    """The org's latest stored reconciliation if it read the ledger less than `max_age` ago;
    None when a full reconciliation is due (none yet, too old, or the ledger could not be read)."""
    with engine.connect() as conn:
        row = reconciliation_store.latest(conn, org_id)
        if row is None or row.error is not None or now - row.checked_at >= max_age:
            return None
        findings = tuple(
            Finding(f["kind"], f["key"], f.get("record_id"), int(f["postings"]), f["detail"])
            for f in row.findings
        )
        named = [f.record_id for f in findings if f.record_id]
        types = org_state.record_types_of(conn, org_id, named)
    return ReconciliationReport(
        org_id,
        row.checked_at,
        row.reconciliation_id,
        Reconciliation(expected=row.expected, held=row.held, findings=findings),
        None,
        types,
        row.trigger,
        reused=True,
    )


def _fingerprint(result: Reconciliation) -> str:
    text = "|".join(f"{f.kind}:{f.key}:{f.postings}" for f in result.findings)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _notify(
    conn: sa.Connection,
    org_id: str,
    result: Reconciliation | None,
    previous: reconciliation_store.ReconciliationRow | None,
    now: datetime,
) -> None:
    """One notification per distinct discrepancy; one 'resolved' when the ledger reconciles again."""
    if result is None:
        return  # the ledger could not be read: the sync's own failure alerts cover that
    recipients = [u.user_id for u in user_store.org_admins(conn, org_id) or user_store.global_admins(conn)]
    if not result.clean:
        body_lines = [f"{f.kind}: {f.record_id or f.key} — {f.detail}" for f in result.findings[:20]]
        if len(result.findings) > 20:
            body_lines.append(f"… and {len(result.findings) - 20} more")
        content = NotificationContent(
            org_id=org_id,
            severity="critical",
            title=title_text(f"{org_id}: the ledger does not match accsync — {result.summary()}"),
            body="Ledger reconciliation found:\n" + "\n".join(body_lines),
            link=status_link(org_id),
            dedupe_key=f"reconciliation:{org_id}:{_fingerprint(result)}",
        )
        insert_for(conn, recipients, content, now)
    elif previous is not None and previous.error is None and not previous.clean:
        content = NotificationContent(
            org_id=org_id,
            severity="info",
            title=title_text(f"{org_id}: the ledger reconciles again"),
            body=result.summary(),
            link=status_link(org_id),
            dedupe_key=f"reconciliation-resolved:{org_id}:{previous.reconciliation_id}",
        )
        insert_for(conn, recipients, content, now)


def findings_csv(report: ReconciliationReport) -> str:
    """The findings as CSV, for an accountant's spreadsheet."""
    import pandas as pd  # only this report needs pandas; keep it off every other import path

    rows = [
        {
            "org_id": report.org_id,
            "kind": f.kind,
            "record_id": f.record_id or "",
            "record_type": report.record_types.get(f.record_id or "", ""),
            "key": f.key,
            "postings": f.postings,
            "detail": f.detail,
        }
        for f in (report.result.findings if report.result else ())
    ]
    columns = ["org_id", "kind", "record_id", "record_type", "key", "postings", "detail"]
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=columns).to_csv(buffer, index=False)
    return buffer.getvalue()
