"""One sync per org, claimed atomically: a row per org whose primary key refuses a second claim.

Whoever launches a sync (Sync Now, retry, the CLI) claims the org first, in one statement
(`INSERT ... ON CONFLICT DO NOTHING`), so that of many concurrent requests exactly one wins,
whichever process they come from. The claim is released when the run's row is closed
(`runs.finish_run`, `runs.close_if_open`), or taken over once its run is known to be over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from accsync_pipeline.store.schema import org_sync_claims

C = org_sync_claims


@dataclass(frozen=True)
class Claim:
    org_id: str
    claim_token: str
    run_id: str | None  # None while the launch that claimed it is under way
    claimed_at: datetime


def _from_row(row: sa.Row[Any]) -> Claim:
    m = row._mapping
    return Claim(m["org_id"], m["claim_token"], m["run_id"], m["claimed_at"])


def try_claim(conn: sa.Connection, org_id: str, token: str, run_id: str | None, now: datetime) -> bool:
    """Claim the org for `token`; False if another claim holds it."""
    values = {"org_id": org_id, "claim_token": token, "run_id": run_id, "claimed_at": now}
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(C).values(**values).on_conflict_do_nothing(index_elements=[C.c.org_id])
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(C).values(**values).on_conflict_do_nothing(index_elements=[C.c.org_id])
    else:
        raise NotImplementedError(f"sync claims on {conn.dialect.name} are not supported")
    return bool(conn.execute(stmt).rowcount)


def take_over(
    conn: sa.Connection, org_id: str, stale_token: str, token: str, run_id: str | None, now: datetime
) -> bool:
    """Replace a claim whose run is over, if nobody replaced it first (compare-and-set on the token)."""
    return bool(
        conn.execute(
            C.update()
            .where(C.c.org_id == org_id, C.c.claim_token == stale_token)
            .values(claim_token=token, run_id=run_id, claimed_at=now)
        ).rowcount
    )


def attach_run(conn: sa.Connection, org_id: str, token: str, run_id: str) -> None:
    """The launch that holds the claim got its run id from Dagster."""
    conn.execute(C.update().where(C.c.org_id == org_id, C.c.claim_token == token).values(run_id=run_id))


def release(conn: sa.Connection, org_id: str, token: str) -> None:
    """Give back a claim whose launch did not happen (refused, nothing to send, Dagster down)."""
    conn.execute(C.delete().where(C.c.org_id == org_id, C.c.claim_token == token))


def find_claim(conn: sa.Connection, org_id: str) -> Claim | None:
    row = conn.execute(sa.select(C).where(C.c.org_id == org_id)).first()
    return _from_row(row) if row else None


def all_claims(conn: sa.Connection) -> list[Claim]:
    return [_from_row(r) for r in conn.execute(sa.select(C).order_by(C.c.org_id))]
