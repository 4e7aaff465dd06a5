"""The current user's in-app notifications: list, unread count, mark one or all read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store.notifications import Notification
from accsync_pipeline.web.api.models import errors
from accsync_pipeline.web.deps import CurrentUser, DbEngine, Now

router = APIRouter(tags=["notifications"])
# The column is a 32-bit integer on PostgreSQL: a larger id cannot exist, and must not reach it.
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NotificationOut(BaseModel):
    notification_id: int
    org_id: str | None
    severity: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(**{k: getattr(n, k) for k in cls.model_fields})


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


@router.get("/notifications", responses=errors(401, 503))
def list_notifications(
    user: CurrentUser,
    engine: DbEngine,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = notification_store.DEFAULT_LIMIT,
) -> list[NotificationOut]:
    """Newest first; `unread=true` for those not read yet."""
    with engine.connect() as conn:
        found = notification_store.list_for_user(conn, user.user_id, unread_only=unread, limit=limit)
    return [NotificationOut.of(n) for n in found]


@router.get("/notifications/unread-count", responses=errors(401, 503))
def unread_count(user: CurrentUser, engine: DbEngine) -> UnreadOut:
    with engine.connect() as conn:
        return UnreadOut(unread=notification_store.unread_count(conn, user.user_id))


@router.post("/notifications/read-all", responses=errors(401, 403, 503))
def mark_all_read(user: CurrentUser, engine: DbEngine, now: Now) -> MarkedOut:
    with engine.begin() as conn:
        return MarkedOut(marked=notification_store.mark_read(conn, user.user_id, now))


@router.post("/notifications/{notification_id}/read", responses=errors(401, 403, 404, 503))
def mark_read(notification_id: NotificationId, user: CurrentUser, engine: DbEngine, now: Now) -> MarkedOut:
    """Mark one of the caller's notifications read; another user's is "not found" like a missing one."""
    with engine.begin() as conn:
        marked = notification_store.mark_read(conn, user.user_id, now, notification_id)
        if marked == 0 and not notification_store.owns(conn, user.user_id, notification_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "notification not found")
    return MarkedOut(marked=marked)
