"""Request dependencies: the database, Dagster, the clock, the caller, and the orgs they may see.

An org administrator sees their own org only. Any other org id, existing or not, gets the
same 404, so that probing ids reveals nothing. Tests replace `get_engine`, `get_launcher`,
`get_dagster_instance` and `get_now` through `app.dependency_overrides`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import dagster as dg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.service.dagster_gateway import SyncLauncher, sync_launcher
from accsync_pipeline.service.dagster_home import dagster_instance
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.web.auth import (
    COOKIE_NAME,
    CSRF_HEADER,
    AuthNotConfigured,
    InvalidToken,
    verify_token,
)

ORG_NOT_FOUND = "organization not found"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="A JWT issued by the app (or the development login).")
_cookie = APIKeyCookie(name=COOKIE_NAME, auto_error=False, description="The same JWT, for the screens.")
_lock = threading.Lock()


def get_engine(request: Request) -> Engine:
    """One engine per application, made on first use from ACCSYNC_DATABASE_URL."""
    state = request.app.state
    with _lock:
        if getattr(state, "accsync_engine", None) is None:
            state.accsync_engine = create_engine()
    engine: Engine = state.accsync_engine
    return engine


def get_dagster_instance(request: Request) -> dg.DagsterInstance:
    """Dagster's instance under DAGSTER_HOME (shared with the webserver and daemon): the run history."""
    state = request.app.state
    with _lock:
        if getattr(state, "dagster_instance", None) is None:
            state.dagster_instance = dagster_instance()
    instance: dg.DagsterInstance = state.dagster_instance
    return instance


def get_launcher(request: Request) -> Iterator[SyncLauncher]:
    launcher = sync_launcher(lambda: get_dagster_instance(request), get_engine(request))
    try:
        yield launcher
    finally:
        launcher.close()


def get_now() -> datetime:
    return datetime.now(UTC)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def known_user(engine: Engine, claimed: User) -> User:
    """The accsync user a validly signed token names, as accsync knows them now.

    A token's claims are only what the issuer believed when it signed: a user removed since,
    or moved to another org or role, must not keep the old rights until the token expires.
    """
    with engine.connect() as conn:
        user = user_store.find_user(conn, claimed.user_id)
    if user is None:
        raise InvalidToken("the token's user is not an accsync user")
    if user.role != claimed.role or (not user.is_global_admin and user.org_id != claimed.org_id):
        raise TokenMismatch("the token's role or organization is not this user's; sign in again")
    return user


class TokenMismatch(InvalidToken):
    """A token for a known user whose role or org has changed."""


def _authenticate(
    request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str | None, engine: Engine
) -> User | None:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        return None
    try:
        user = known_user(engine, verify_token(token))
    except AuthNotConfigured as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None
    except TokenMismatch as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    except InvalidToken as e:
        raise _unauthorized(str(e)) from None
    # A browser sends the cookie with any form another site posts; a custom header it cannot.
    if bearer is None and request.method in UNSAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"cookie-authenticated changes need the {CSRF_HEADER} header"
        )
    return user


def optional_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> User | None:
    """The caller, or None when no token came; an invalid token is still refused (401)."""
    return _authenticate(request, bearer, cookie, engine)


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise _unauthorized("sign in: send a bearer token or the accsync_token cookie")
    return user


def require_global_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_global_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a global administrator may do this")
    return user


def may_see(user: User, org_id: str) -> bool:
    return user.is_global_admin or user.org_id == org_id


def visible_org(
    org_id: str, user: Annotated[User, Depends(current_user)], engine: Annotated[Engine, Depends(get_engine)]
) -> OrgConfig:
    """The org named in the path, if the caller may see it; 404 alike for "not yours" and "no such org"."""
    if not may_see(user, org_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, ORG_NOT_FOUND)
    with engine.connect() as conn:
        org = org_store.find_org(conn, org_id)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, ORG_NOT_FOUND)
    return org


CurrentUser = Annotated[User, Depends(current_user)]
VisibleOrg = Annotated[OrgConfig, Depends(visible_org)]
DbEngine = Annotated[Engine, Depends(get_engine)]
Launcher = Annotated[SyncLauncher, Depends(get_launcher)]
Now = Annotated[datetime, Depends(get_now)]
