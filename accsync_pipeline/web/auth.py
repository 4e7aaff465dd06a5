"""Bearer tokens as the app issues them: HS256 JWTs with `sub`, `role`, `org_id` and an expiry.

The secret comes from `ACCSYNC_JWT_SECRET` and must be at least 32 bytes (HS256 keys shorter
than the hash are guessable offline). The development login, off unless `ACCSYNC_DEV_LOGIN=1`,
may run without a secret: it then signs with a random one that lives as long as the process,
so its tokens die with it and can never be valid anywhere else.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from accsync_pipeline.domain.org import User, UserRole

JWT_SECRET_ENV = "ACCSYNC_JWT_SECRET"  # noqa: S105 - the name of a variable, not a secret
DEV_LOGIN_ENV = "ACCSYNC_DEV_LOGIN"
COOKIE_NAME = "accsync_token"
CSRF_HEADER = "X-Accsync-CSRF"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
TOKEN_LIFETIME = timedelta(hours=8)
ROLES = tuple(UserRole)

_process_secret = secrets.token_urlsafe(48)


class AuthNotConfigured(RuntimeError):
    """No usable signing secret; the message says what to set (never the value)."""


class InvalidToken(ValueError):
    """A token that is malformed, badly signed, expired or lacks a claim; the message is safe to show."""


def dev_login_enabled() -> bool:
    return os.environ.get(DEV_LOGIN_ENV) == "1"


def signing_secret() -> str:
    secret = os.environ.get(JWT_SECRET_ENV, "")
    if secret:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthNotConfigured(f"{JWT_SECRET_ENV} must be at least {MIN_SECRET_BYTES} bytes long")
        return secret
    if dev_login_enabled():
        return _process_secret
    raise AuthNotConfigured(f"authentication is not configured: set {JWT_SECRET_ENV}")


def require_configured() -> None:
    """At startup: AuthNotConfigured when no usable secret is set and this is not the demo.

    The demo (ACCSYNC_DEV_LOGIN=1) may run without a secret; a short secret is refused everywhere.
    """
    signing_secret()


def issue_token(user: User, now: datetime | None = None, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user.user_id,
        "role": user.role,
        "org_id": user.org_id,
        "name": user.name,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, signing_secret(), algorithm=ALGORITHM)


def verify_token(token: str) -> User:
    """The user a valid token speaks for; InvalidToken otherwise (the reason, never the token)."""
    try:
        claims = jwt.decode(
            token,
            signing_secret(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidTokenError as e:
        raise InvalidToken(f"the token is not valid ({type(e).__name__})") from None
    sub, role, org_id = claims.get("sub"), claims.get("role"), claims.get("org_id")
    if not isinstance(sub, str) or not sub or role not in ROLES:
        raise InvalidToken("the token's subject or role is not valid")
    if role == UserRole.ORG_ADMIN and (not isinstance(org_id, str) or not org_id):
        raise InvalidToken("an org administrator's token must name an org_id")
    name = claims.get("name")
    return User(
        user_id=sub,
        name=name if isinstance(name, str) else sub,
        email=str(claims.get("email") or ""),
        role=UserRole(role),
        org_id=org_id if role == UserRole.ORG_ADMIN else None,
    )
