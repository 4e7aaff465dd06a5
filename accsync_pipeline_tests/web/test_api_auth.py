"""Authentication: bearer JWTs or the screens' cookie (with the CSRF header), and the development login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from accsync_pipeline.web.auth import COOKIE_NAME, JWT_SECRET_ENV, issue_token
from accsync_pipeline_tests.web.conftest import SECRET, Api, Seeded, json_of


def test_no_token_is_401(api: Api, seeded: Seeded) -> None:
    response = api.client().get("/api/orgs")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("claims", "key", "reason"),
    [
        ({"sub": "hlf.admin", "role": "org_admin", "org_id": "hlf", "exp": -60}, SECRET, "expired"),
        ({"sub": "hlf.admin", "role": "org_admin", "org_id": "hlf"}, SECRET, "not valid"),  # no exp
        ({"sub": "hlf.admin", "role": "org_admin", "org_id": "hlf", "exp": 600}, "x" * 40, "not valid"),
        ({"sub": "hlf.admin", "role": "superuser", "org_id": "hlf", "exp": 600}, SECRET, "role"),
        ({"sub": "hlf.admin", "role": "org_admin", "exp": 600}, SECRET, "org_id"),
    ],
    ids=["expired", "no-exp", "wrong-key", "unknown-role", "org-admin-without-org"],
)
def test_invalid_tokens_are_401_without_echoing_them(
    api: Api, seeded: Seeded, claims: dict[str, object], key: str, reason: str
) -> None:
    now = int(datetime.now(UTC).timestamp())
    if "exp" in claims:
        claims = claims | {"exp": now + int(str(claims["exp"]))}
    token = jwt.encode(claims, key, algorithm="HS256")
    response = api.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and reason in response.json()["detail"]
    assert token not in response.text


def test_tokens_signed_with_another_algorithm_are_refused(api: Api, seeded: Seeded) -> None:
    token = jwt.encode({"sub": "x", "role": "global_admin", "exp": 9999999999}, SECRET, algorithm="HS384")
    assert api.client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_me_answers_with_the_tokens_user(api: Api, seeded: Seeded) -> None:
    assert json_of(api.client(seeded.hlf_admin).get("/api/me"))["org_id"] == "hlf"


def test_a_short_or_missing_secret_is_a_clear_503(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = api.token(seeded.hlf_admin)
    monkeypatch.setenv(JWT_SECRET_ENV, "short")
    response = api.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and "at least 32 bytes" in response.json()["detail"]
    monkeypatch.delenv(JWT_SECRET_ENV)
    response = api.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and JWT_SECRET_ENV in response.json()["detail"]


def test_the_development_login_is_off_unless_enabled(api: Api, seeded: Seeded) -> None:
    client = api.client()
    assert client.post("/api/dev/login", json={"user_id": "hlf.admin"}).status_code == 404
    assert client.get("/api/dev/users").status_code == 404


def test_dev_login_cookie_and_csrf(api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCSYNC_DEV_LOGIN", "1")
    client = api.client()
    users = json_of(client.get("/api/dev/users"))
    assert {u["user_id"] for u in users} == {"hlf.admin", "other.admin", "global.admin"}
    assert client.post("/api/dev/login", json={"user_id": "nobody"}).status_code == 404
    response = client.post("/api/dev/login", json={"user_id": "hlf.admin", "set_cookie": True})
    body = json_of(response)
    assert body["user"]["org_id"] == "hlf" and body["token_type"] == "bearer"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    # The cookie alone reads; a change needs the header a cross-site form cannot send.
    assert json_of(client.get("/api/orgs/hlf/status"))["org_id"] == "hlf"
    refused = client.post("/api/orgs/hlf/sync")
    assert refused.status_code == 403 and "X-Accsync-CSRF" in refused.json()["detail"]
    assert client.post("/api/orgs/hlf/sync", headers={"X-Accsync-CSRF": "1"}).status_code == 202
    # A bearer token is not sent by browsers on their own: no header needed.
    bearer = api.client().post("/api/orgs/hlf/sync", headers={"Authorization": f"Bearer {body['token']}"})
    assert bearer.status_code == 409  # the first one is still queued
    logout = client.post("/api/logout")
    assert logout.status_code == 204 and f'{COOKIE_NAME}=""' in logout.headers["set-cookie"]
    assert client.get("/api/me").status_code == 401


def test_an_issued_token_expires(api: Api, seeded: Seeded) -> None:
    token = issue_token(seeded.hlf_admin, now=datetime.now(UTC) - timedelta(hours=9))
    response = api.client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
