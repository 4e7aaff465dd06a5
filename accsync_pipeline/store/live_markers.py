"""What a live status stream compares every second, read in one statement.

A stream polls once a second per open screen, so a poll must not grow with the org's records
or open work. It reads markers that move whenever what the screen shows may have changed, each
one an index probe: the org's settings row, its newest state-row write and newest ledger
reconciliation, its sync claim, and the user's unread count and newest notification; plus the
runs open or recently ended, which are few whatever the history. The stream runs the full
status queries only when a marker moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.store.schema import (
    ledger_reconciliations,
    notifications,
    org_sync_claims,
    organizations,
    record_sync_state,
    sync_runs,
)

R, C, N = sync_runs, org_sync_claims, notifications
OPEN_RUN = "started"


@dataclass(frozen=True)
class Markers:
    runs: list[Any]  # sync_runs rows still open or ended since the time asked, oldest start first
    claim: tuple[str, str | None] | None  # the org's sync claim (token, run id), for an org's stream
    org: tuple[Any, ...]  # moves when the org's settings, records or reconciliations change
    notifications: tuple[int, int | None]  # the user's unread count and newest notification id


def _scalar(query: sa.Select[Any], name: str) -> sa.Label[Any]:
    return query.scalar_subquery().label(name)


USER: sa.BindParameter[str] = sa.bindparam("user_id", type_=sa.String)
ORG: sa.BindParameter[str] = sa.bindparam("org_id", type_=sa.String)
SINCE: sa.BindParameter[datetime] = sa.bindparam("since", type_=R.c.finished_at.type)


def _statement(one_org: bool) -> sa.Select[Any]:
    """The markers as one row, left-joined to the org's claim and to the runs open or ended since."""
    S, L, orgs = record_sync_state, ledger_reconciliations, organizations
    columns = [
        _scalar(sa.select(sa.func.count()).where(N.c.user_id == USER, N.c.read_at.is_(None)), "m_unread"),
        _scalar(
            sa.select(N.c.notification_id)
            .where(N.c.user_id == USER)
            .order_by(N.c.created_at.desc(), N.c.notification_id.desc())
            .limit(1),
            "m_newest",
        ),
    ]
    if one_org:
        # Each is one probe of an index: the organizations' primary key, (org_id, updated_at) of
        # the states, (org_id, checked_at) of the reconciliations.
        columns += [
            _scalar(sa.select(orgs.c.updated_at).where(orgs.c.org_id == ORG), "m_settings"),
            _scalar(sa.select(sa.func.max(S.c.updated_at)).where(S.c.org_id == ORG), "m_state"),
            _scalar(sa.select(sa.func.max(L.c.checked_at)).where(L.c.org_id == ORG), "m_reconciled"),
        ]
    markers = sa.select(*columns).subquery("m")
    recent = sa.or_(R.c.status == OPEN_RUN, R.c.finished_at >= SINCE)
    joined: Any = markers
    selected: list[Any] = [markers]
    if one_org:
        recent = sa.and_(recent, R.c.org_id == ORG)
        joined = joined.outerjoin(C, C.c.org_id == ORG)
        selected += [C.c.claim_token.label("m_claim_token"), C.c.run_id.label("m_claim_run_id")]
    return sa.select(*selected, R).select_from(joined.outerjoin(R, recent)).order_by(R.c.started_at)


# Built once: a poll only binds its values, it does not build or key a statement each second.
_OF_ORG, _OF_ALL = _statement(one_org=True), _statement(one_org=False)


def read(conn: sa.Connection, user_id: str, org_id: str | None, since: datetime) -> Markers:
    """The markers of a user's stream (of one org, or of all orgs when `org_id` is None).

    One round trip: a quiet poll returns one row, the markers with no claim and no run.
    """
    if org_id is None:
        rows = list(conn.execute(_OF_ALL, {"user_id": user_id, "since": since}))
    else:
        rows = list(conn.execute(_OF_ORG, {"user_id": user_id, "org_id": org_id, "since": since}))
    first = rows[0]._mapping
    claim = None
    if org_id is not None and first["m_claim_token"] is not None:
        claim = (first["m_claim_token"], first["m_claim_run_id"])
    org = (first["m_settings"], first["m_state"], first["m_reconciled"]) if org_id is not None else ()
    return Markers(
        runs=[row for row in rows if row._mapping["run_id"] is not None],
        claim=claim,
        org=org,
        notifications=(int(first["m_unread"]), first["m_newest"]),
    )
