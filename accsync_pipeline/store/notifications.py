"""In-app notifications: written once per recipient and condition, read and marked read by their user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from accsync_pipeline.store.schema import notifications

N = notifications
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class NotificationContent:
    """What a notification says, before it is addressed to anyone."""

    org_id: str | None
    severity: str  # info | warning | critical
    title: str
    body: str
    link: str
    dedupe_key: str


@dataclass(frozen=True)
class Notification:
    notification_id: int
    user_id: str
    org_id: str | None
    severity: str
    title: str
    body: str
    link: str
    dedupe_key: str
    created_at: datetime
    read_at: datetime | None


def _from_row(row: sa.Row[Any]) -> Notification:
    m = row._mapping
    return Notification(**{k: m[k] for k in Notification.__dataclass_fields__})


def insert_for(
    conn: sa.Connection, user_ids: Sequence[str], content: NotificationContent, now: datetime
) -> int:
    """Address `content` to each user once; a user who already holds its dedupe key is left alone.

    Returns how many notifications are new. Safe to call again for the same condition, also
    from two processes at once: the unique (user_id, dedupe_key) decides, not a prior read.
    """
    return insert_many(conn, [(user_ids, content)], now)


BULK_ROWS = 1000  # rows per INSERT: 8 columns each stays far inside SQLite's limit on parameters


def insert_many(
    conn: sa.Connection, addressed: Sequence[tuple[Sequence[str], NotificationContent]], now: datetime
) -> int:
    """`insert_for` for many notices at once: one INSERT per thousand rows instead of one per notice.

    Returns how many notifications are new; a user who already holds a dedupe key is left alone.
    """
    rows = [
        {
            "user_id": user_id,
            "org_id": content.org_id,
            "severity": content.severity,
            "title": content.title,
            "body": content.body,
            "link": content.link,
            "dedupe_key": content.dedupe_key,
            "created_at": now,
        }
        for user_ids, content in addressed
        for user_id in dict.fromkeys(user_ids)
    ]
    # The same (user, key) twice in one statement would make PostgreSQL's ON CONFLICT refuse it.
    unique = list({(r["user_id"], r["dedupe_key"]): r for r in reversed(rows)}.values())[::-1]
    written = 0
    dialect = conn.dialect.name
    for start in range(0, len(unique), BULK_ROWS):
        chunk = unique[start : start + BULK_ROWS]
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(N).values(chunk)
        elif dialect == "sqlite":
            stmt = sqlite.insert(N).values(chunk)
        else:
            raise NotImplementedError(f"notifications on {dialect} are not supported")
        stmt = stmt.on_conflict_do_nothing(index_elements=[N.c.user_id, N.c.dedupe_key])
        written += len(conn.execute(stmt.returning(N.c.notification_id)).all())
    return written


def list_for_user(
    conn: sa.Connection, user_id: str, unread_only: bool = False, limit: int = DEFAULT_LIMIT
) -> list[Notification]:
    """A user's notifications, newest first."""
    query = sa.select(N).where(N.c.user_id == user_id)
    if unread_only:
        query = query.where(N.c.read_at.is_(None))
    query = query.order_by(N.c.created_at.desc(), N.c.notification_id.desc()).limit(limit)
    return [_from_row(r) for r in conn.execute(query)]


def unread_count(conn: sa.Connection, user_id: str) -> int:
    query = sa.select(sa.func.count()).where(N.c.user_id == user_id, N.c.read_at.is_(None))
    return int(conn.execute(query).scalar_one())


def mark_read(conn: sa.Connection, user_id: str, now: datetime, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read, or all of them; another user's are never touched.

    Returns how many changed (0 for an unknown id, another user's id, or one already read).
    """
    stmt = N.update().where(N.c.user_id == user_id, N.c.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(N.c.notification_id == notification_id)
    return conn.execute(stmt.values(read_at=now)).rowcount


def holders_of(conn: sa.Connection, dedupe_keys: Sequence[str], user_ids: Sequence[str]) -> set[str]:
    """Which of `dedupe_keys` at least one of `user_ids` has received."""
    if not dedupe_keys or not user_ids:
        return set()
    query = (
        sa.select(N.c.dedupe_key)
        .where(N.c.dedupe_key.in_(list(dedupe_keys)), N.c.user_id.in_(list(user_ids)))
        .distinct()
    )
    return {r[0] for r in conn.execute(query)}


def owns(conn: sa.Connection, user_id: str, notification_id: int) -> bool:
    """Whether the notification exists and is the user's."""
    query = sa.select(N.c.notification_id).where(
        N.c.user_id == user_id, N.c.notification_id == notification_id
    )
    return conn.execute(query).first() is not None
