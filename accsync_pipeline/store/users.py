"""Users of the admin screens: org administrators and global administrators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.org import User, UserRole
from accsync_pipeline.store.schema import users


def _from_row(row: sa.Row[Any]) -> User:
    m = row._mapping
    return User(m["user_id"], m["name"], m["email"], m["role"], m["org_id"])


def insert_user(conn: sa.Connection, user: User) -> None:
    conn.execute(
        users.insert().values(
            user_id=user.user_id, name=user.name, email=user.email, role=user.role, org_id=user.org_id
        )
    )


def find_user(conn: sa.Connection, user_id: str) -> User | None:
    row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
    return _from_row(row) if row else None


def list_users(conn: sa.Connection) -> list[User]:
    return [_from_row(r) for r in conn.execute(sa.select(users).order_by(users.c.user_id))]


def org_admins(conn: sa.Connection, org_id: str) -> list[User]:
    query = sa.select(users).where(users.c.org_id == org_id, users.c.role == UserRole.ORG_ADMIN)
    return [_from_row(r) for r in conn.execute(query.order_by(users.c.user_id))]


def org_admins_by_org(conn: sa.Connection) -> dict[str, list[str]]:
    """Every org's administrators' user ids, in one query."""
    query = sa.select(users.c.org_id, users.c.user_id).where(users.c.role == UserRole.ORG_ADMIN)
    found: dict[str, list[str]] = {}
    for org_id, user_id in conn.execute(query.order_by(users.c.org_id, users.c.user_id)):
        found.setdefault(org_id, []).append(user_id)
    return found


def global_admins(conn: sa.Connection) -> list[User]:
    query = sa.select(users).where(users.c.role == UserRole.GLOBAL_ADMIN).order_by(users.c.user_id)
    return [_from_row(r) for r in conn.execute(query)]


def orgs_with_admins(conn: sa.Connection) -> set[str]:
    """Orgs that have at least one org administrator (the others' alerts go to global administrators)."""
    query = sa.select(users.c.org_id).where(users.c.role == UserRole.ORG_ADMIN).distinct()
    return {org_id for (org_id,) in conn.execute(query) if org_id is not None}
