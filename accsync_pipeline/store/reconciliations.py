"""Ledger reconciliations as they were found: one row per reconciliation of an org."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.reconcile import Reconciliation
from accsync_pipeline.store.schema import ledger_reconciliations

L = ledger_reconciliations
MAX_FINDINGS_STORED = 200


@dataclass(frozen=True)
class ReconciliationRow:
    reconciliation_id: int
    org_id: str
    checked_at: datetime
    trigger: str
    run_id: str | None
    expected: int
    held: int
    missing: int
    duplicated: int
    unknown: int
    error: str | None
    findings: list[dict[str, Any]]

    @property
    def clean(self) -> bool:
        return self.error is None and not (self.missing or self.duplicated or self.unknown)


def _from_row(row: sa.Row[Any]) -> ReconciliationRow:
    m = row._mapping
    return ReconciliationRow(**{k: m[k] for k in ReconciliationRow.__dataclass_fields__})


def save(
    conn: sa.Connection,
    org_id: str,
    checked_at: datetime,
    trigger: str,
    run_id: str | None,
    result: Reconciliation | None,
    error: str | None = None,
) -> int:
    """Store a reconciliation (or, with `error`, the reason it could not be made)."""
    findings = [
        {"kind": f.kind, "key": f.key, "record_id": f.record_id, "postings": f.postings, "detail": f.detail}
        for f in (result.findings if result else ())[:MAX_FINDINGS_STORED]
    ]
    values = {
        "org_id": org_id,
        "checked_at": checked_at,
        "trigger": trigger,
        "run_id": run_id,
        "expected": result.expected if result else 0,
        "held": result.held if result else 0,
        "missing": result.count("missing") if result else 0,
        "duplicated": result.count("duplicated") if result else 0,
        "unknown": result.count("unknown") if result else 0,
        "error": error,
        "findings": findings,
    }
    inserted = conn.execute(L.insert().values(**values).returning(L.c.reconciliation_id)).scalar_one()
    return int(inserted)


def latest(conn: sa.Connection, org_id: str, before_id: int | None = None) -> ReconciliationRow | None:
    """The org's newest reconciliation (older than `before_id` when given)."""
    query = sa.select(L).where(L.c.org_id == org_id)
    if before_id is not None:
        query = query.where(L.c.reconciliation_id < before_id)
    row = conn.execute(query.order_by(L.c.checked_at.desc(), L.c.reconciliation_id.desc()).limit(1)).first()
    return _from_row(row) if row else None


def latest_per_org(conn: sa.Connection, org_ids: Sequence[str] | None) -> dict[str, ReconciliationRow]:
    """Each org's newest reconciliation (of every org when `org_ids` is None), in one query."""
    if org_ids is not None and not org_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(partition_by=L.c.org_id, order_by=(L.c.checked_at.desc(), L.c.reconciliation_id.desc()))
        .label("rank")
    )
    ranked = sa.select(L, rank)
    if org_ids is not None:
        ranked = ranked.where(L.c.org_id.in_(list(org_ids)))
    inner = ranked.subquery()
    query = sa.select(*[inner.c[c.name] for c in L.c]).where(inner.c.rank == 1)
    return {row._mapping["org_id"]: _from_row(row) for row in conn.execute(query)}
