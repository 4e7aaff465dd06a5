"""Who is calling: the current user, signing out, and the development login for the demo.

The development login issues tokens for the seeded users without a password. It exists only
when `ACCSYNC_DEV_LOGIN=1`; otherwise its routes answer 404 as if they were not there.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel

from accsync_pipeline.store import users as user_store
from accsync_pipeline.web.api.models import StrictIn, UserOut, errors
from accsync_pipeline.web.auth import (
    COOKIE_NAME,
    TOKEN_LIFETIME,
    AuthNotConfigured,
    dev_login_enabled,
    issue_token,
)
from accsync_pipeline.web.deps import CurrentUser, DbEngine
from accsync_pipeline.web.security import is_https

router = APIRouter(tags=["session"])


class DevLoginIn(StrictIn):
    user_id: str
    set_cookie: bool = False


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserOut


def _require_dev_login() -> None:
    if not dev_login_enabled():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")


@router.get("/me", responses=errors(401, 503))
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> Response:
    """Clear the screens' cookie. Bearer tokens simply expire."""
    response.status_code = 204
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=is_https(request))
    return response


@router.get("/dev/users", responses=errors(404))
def dev_users(engine: DbEngine) -> list[UserOut]:
    """The seeded users the development login can sign in as (only with ACCSYNC_DEV_LOGIN=1)."""
    _require_dev_login()
    with engine.connect() as conn:
        return [UserOut.of(u) for u in user_store.list_users(conn)]


@router.post("/dev/login", responses=errors(404, 503))
def dev_login(body: DevLoginIn, request: Request, response: Response, engine: DbEngine) -> TokenOut:
    """A token for a seeded user (ACCSYNC_DEV_LOGIN=1 only); `set_cookie` also sets the screens' cookie."""
    _require_dev_login()
    with engine.connect() as conn:
        user = user_store.find_user(conn, body.user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown user")
    try:
        token = issue_token(user)
    except AuthNotConfigured as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None
    lifetime = int(TOKEN_LIFETIME.total_seconds())
    if body.set_cookie:
        # Secure behind HTTPS (directly or through a proxy that says so), so it never travels in clear.
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=lifetime,
            path="/",
            httponly=True,
            samesite="strict",
            secure=is_https(request),
        )
    return TokenOut(token=token, expires_in=lifetime, user=UserOut.of(user))
