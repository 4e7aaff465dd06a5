"""Hostile and careless input: one org cannot hurt another, and every bad input gets a 4xx, never a 500.

Each test is one probe of the hostile-input review: an org admin's worst request, a careless
operator's typo, or an attacker's crafted link.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from accsync_pipeline.domain.org import User
from accsync_pipeline.service.alerting import check_alerts
from accsync_pipeline.service.org_settings import ALERT_LIMITS
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.schema import organizations
from accsync_pipeline.web import auth
from accsync_pipeline.web.security import MAX_BODY_BYTES, safe_next
from accsync_pipeline_tests.factories import add_sources
from accsync_pipeline_tests.web.conftest import CLOCK, Api, Seeded, json_of

SETTINGS = "/api/orgs/hlf/settings"


def stored(api: Api, org_id: str = "hlf") -> Any:
    with api.engine.connect() as conn:
        return org_store.get_org(conn, org_id)


def assert_422_names(response: Any, *words: str) -> None:
    assert response.status_code == 422, (response.status_code, response.text)
    text = json.dumps(response.json())
    for word in words:
        assert word in text, (word, text)


# -- one org admin must not be able to stop every org's alerts -------------------------------------


@pytest.mark.parametrize(
    "alerts",
    [
        {"error_window_hours": 100_000_000},
        {"pending_hours": 100_000_000},
        {"consecutive_failures": 2**63},
        {"error_threshold": 10**30},
        {"error_window_hours": 0},
    ],
)
def test_alert_thresholds_out_of_bounds_are_refused_and_not_saved(
    api: Api, seeded: Seeded, alerts: dict[str, int]
) -> None:
    before = stored(api)
    response = api.client(seeded.hlf_admin).put(SETTINGS, json={"alerts": alerts})
    assert_422_names(response, f"alerts.{next(iter(alerts))}".split(".")[1], "whole number")
    assert stored(api) == before


# -- a cron that croniter accepts but Dagster's scheduler cannot iterate ---------------------------


@pytest.mark.parametrize("cron", ["0 0 1 * 5#3", "0 0 L * 5#3"])
def test_a_cron_the_scheduler_cannot_iterate_is_refused_with_the_reason(
    api: Api, seeded: Seeded, cron: str
) -> None:
    before = stored(api)
    client = api.client(seeded.hlf_admin)
    response = client.put(SETTINGS, json={"schedule": {"kind": "custom", "cron": cron}})
    assert_422_names(response, "day-of-week", "day-of-month")
    assert stored(api) == before and api.applied == []
    described = json_of(client.post("/api/schedule/describe", json={"cron": cron}))
    assert described["valid"] is False and "day-of-month" in described["error"]
    # Everyone's views still answer.
    assert client.get(SETTINGS).status_code == 200
    assert api.client(seeded.global_admin).get("/api/orgs").status_code == 200


def test_a_bad_schedule_already_stored_is_reported_not_a_500_for_everyone(api: Api, seeded: Seeded) -> None:
    """Rows saved by an older version, or by hand: one org's page says so, the others work."""
    with api.engine.begin() as conn:
        conn.execute(
            organizations.update()
            .where(organizations.c.org_id == "hlf")
            .values(schedule={"kind": "custom", "cron": "0 0 1 * 5#3"})
        )
    hlf = api.client(seeded.hlf_admin)
    settings = json_of(hlf.get(SETTINGS))
    assert settings["schedule_description"].startswith("Invalid schedule") and settings["next_runs"] == []
    assert json_of(hlf.get("/api/orgs/hlf/status"))["next_run_at"] is None
    everyone = json_of(api.client(seeded.global_admin).get("/api/orgs"))
    assert {o["org_id"] for o in everyone["orgs"]} == {"hlf", "other"}
    other = json_of(api.client(seeded.other_admin).get("/api/orgs/other/status"))
    assert other["next_run_at"] is not None
    browser = api.client()
    browser.cookies.set(auth.COOKIE_NAME, api.token(seeded.global_admin))
    assert browser.get("/orgs").status_code == 200
    assert browser.get("/orgs/hlf/schedule").status_code == 200


# -- malformed bodies and parameters: 4xx with a clear message ---------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused(api: Api, seeded: Seeded, constant: str) -> None:
    body = '{"alerts": {"error_threshold": ' + constant + "}}"
    response = api.client(seeded.hlf_admin).put(
        SETTINGS, content=body, headers={"Content-Type": "application/json"}
    )
    assert_422_names(response, constant, "not a JSON number")


@pytest.mark.parametrize(
    "body",
    [
        {"alerts": {"error_threshold": "yes"}},
        {"alerts": {"error_threshold": True}},
        {"alerts": {"error_threshold": "12"}},
        {"alerts": {"error_threshold": 12.5}},
        {"retry": {"max_retries": True}},
        {"sync_on_approval": "yes"},
        {"sync_on_approval": 1},
        {"record_types": "reimbursement"},
    ],
)
def test_values_of_the_wrong_json_type_are_refused_not_coerced(api: Api, seeded: Seeded, body: Any) -> None:
    before = stored(api)
    response = api.client(seeded.hlf_admin).put(SETTINGS, json=body)
    assert response.status_code == 422, response.text
    assert stored(api) == before


def test_integers_beyond_any_column_are_422_not_500(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    assert client.put(SETTINGS, json={"retry": {"max_retries": 2**64}}).status_code == 422
    assert client.get("/api/orgs/hlf/records", params={"offset": 2**63}).status_code == 422
    assert client.get("/api/orgs/hlf/records", params={"offset": 10**40}).status_code == 422
    assert client.get("/api/orgs/hlf/records", params={"limit": -1}).status_code == 422


def test_a_validation_error_never_echoes_the_input(api: Api, seeded: Seeded) -> None:
    secret_like = "sk_live_0123456789abcdefXYZ"
    response = api.client(seeded.hlf_admin).put(SETTINGS, json={"alerts": {"error_threshold": secret_like}})
    assert response.status_code == 422 and secret_like not in response.text


def test_an_oversized_body_is_refused_with_413(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    huge = '{"schedule": {"kind": "custom", "cron": "' + "1" * (20 * 1024 * 1024) + '"}}'
    response = client.put(SETTINGS, content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = client.put(SETTINGS, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "timezone", ["localtime", "Factory", "right/UTC", "posix/Europe/Oslo", "Mars/Olympus"]
)
def test_non_portable_timezones_are_refused(api: Api, seeded: Seeded, timezone: str) -> None:
    before = stored(api)
    response = api.client(seeded.hlf_admin).put(SETTINGS, json={"timezone": timezone})
    assert_422_names(response, "timezone", "IANA")
    assert stored(api) == before


def test_new_org_with_a_non_portable_timezone_is_refused(api: Api, seeded: Seeded) -> None:
    response = api.client(seeded.global_admin).post(
        "/api/orgs",
        json={"org_id": "acme", "name": "Acme", "connector_type": "dynamics", "timezone": "localtime"},
    )
    assert_422_names(response, "timezone")
    with api.engine.connect() as conn:
        assert org_store.find_org(conn, "acme") is None


# -- web security -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/\\127.0.0.1:8399/phish", "/"),
        ("//evil.example/", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/orgs/hlf?tab=failed", "/orgs/hlf?tab=failed"),
        ("/", "/"),
        (None, "/"),
    ],
)
def test_the_login_redirect_stays_on_the_service(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_login_page_never_offers_a_redirect_off_the_service(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(auth.DEV_LOGIN_ENV, "1")
    page = api.client().get("/login?next=%2F%5C127.0.0.1%3A8399%2Fphish")
    assert page.status_code == 200
    assert "127.0.0.1:8399" not in page.text and 'data-next="/"' in page.text


@pytest.mark.parametrize(
    "path", ["/login", "/api/me", "/docs", "/openapi.json", "/static/app.css", "/nowhere"]
)
def test_every_answer_carries_the_security_headers(api: Api, seeded: Seeded, path: str) -> None:
    response = api.client(seeded.hlf_admin).get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_styles_or_scripts_the_csp_would_block(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = api.client()
    client.cookies.set(auth.COOKIE_NAME, api.token(seeded.hlf_admin))
    for path in ("/orgs/hlf", "/orgs/hlf/schedule", "/orgs/hlf/settings", "/orgs/hlf/history"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'style="' not in page.text and "<style" not in page.text, path
        assert "<script>" not in page.text and " onclick=" not in page.text, path


def test_docs_load_nothing_from_a_cdn(api: Api) -> None:
    page = api.client().get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "/api/orgs/{org_id}/settings" in page.text
    assert api.client().get("/openapi.json").status_code == 200


@pytest.mark.parametrize(("proto", "secure"), [("https", True), ("http", False)])
def test_the_session_cookie_is_secure_behind_https(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, proto: str, secure: bool
) -> None:
    monkeypatch.setenv(auth.DEV_LOGIN_ENV, "1")
    response = api.client().post(
        "/api/dev/login",
        json={"user_id": seeded.hlf_admin.user_id, "set_cookie": True},
        headers={"X-Forwarded-Proto": proto},
    )
    cookie = response.headers["set-cookie"]
    assert ("; secure" in cookie.lower()) is secure
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


def test_a_signed_token_for_an_unknown_user_is_refused(api: Api, seeded: Seeded) -> None:
    ghost = User("ghost", "Ghost", "", "global_admin", None)
    response = api.client(ghost).get("/api/orgs")
    assert response.status_code == 401 and "not an accsync user" in response.json()["detail"]


def test_a_token_whose_org_or_role_differs_from_the_user_is_refused(api: Api, seeded: Seeded) -> None:
    moved = User(seeded.hlf_admin.user_id, "x", "", "org_admin", "other")
    assert api.client(moved).get("/api/orgs/other/status").status_code == 403
    promoted = User(seeded.hlf_admin.user_id, "x", "", "global_admin", None)
    assert api.client(promoted).get("/api/orgs").status_code == 403
    # ...and on the screens it is no sign-in at all.
    client = api.client()
    client.cookies.set(auth.COOKIE_NAME, api.token(promoted))
    assert client.get("/orgs", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("secret", "dev"), [("", False), ("short-secret", False), ("short-secret", True)])
def test_startup_refuses_a_missing_or_short_jwt_secret_outside_the_demo(
    monkeypatch: pytest.MonkeyPatch, secret: str, dev: bool
) -> None:
    monkeypatch.setenv(auth.JWT_SECRET_ENV, secret)
    monkeypatch.setenv(auth.DEV_LOGIN_ENV, "1" if dev else "0")
    with pytest.raises(auth.AuthNotConfigured) as caught:
        auth.require_configured()
    assert auth.JWT_SECRET_ENV in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


def test_the_demo_may_run_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.JWT_SECRET_ENV, raising=False)
    monkeypatch.setenv(auth.DEV_LOGIN_ENV, "1")
    auth.require_configured()


# -- cross-tenant: one org's worst allowed settings leave another org working -------------------------


def test_one_orgs_worst_allowed_settings_leave_another_orgs_alerts_schedule_and_pages_working(
    api: Api, seeded: Seeded
) -> None:
    worst = {
        "alerts": {name: limit for name, (limit, _) in ALERT_LIMITS.items()},
        "retry": {"max_retries": 10, "base_delay_seconds": 3600},
        "auto_retry": {"base_seconds": 3600, "max_seconds": 7 * 24 * 3600},
        "schedule": {"kind": "custom", "cron": "59 23 29 2 *"},
        "timezone": "Pacific/Kiritimati",
        "sync_on_approval": True,
    }
    json_of(api.client(seeded.hlf_admin).put(SETTINGS, json=worst))
    # The other org has failing records enough to alert.
    with api.engine.begin() as conn:
        add_sources(conn, "other", 1, prefix="O", approved_at=CLOCK - timedelta(days=5))
        conn.execute(sa.text("SELECT 1"))
    with dg.instance_for_test() as instance:
        report = check_alerts(api.engine, instance, datetime.now(UTC))
    assert report is not None
    # Other's schedule and pages still answer, and its next run is computed.
    other = api.client(seeded.other_admin)
    status = json_of(other.get("/api/orgs/other/status"))
    assert status["next_run_at"] is not None and status["schedule_description"].startswith("At 02:00")
    assert json_of(other.get("/api/orgs/other/settings"))["next_runs"]
    everyone = json_of(api.client(seeded.global_admin).get("/api/orgs"))
    assert everyone["summary"]["orgs"] == 2
    client = api.client()
    client.cookies.set(auth.COOKIE_NAME, api.token(seeded.global_admin))
    assert client.get("/orgs").status_code == 200
    assert client.get("/orgs/other").status_code == 200
    assert client.get("/orgs/hlf/schedule").status_code == 200


# -- a missing or replaced state database --------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a file that can be deleted
def test_a_deleted_database_file_answers_503_and_no_save_is_lost_silently(api: Api, seeded: Seeded) -> None:
    path = api.engine.url.database
    assert path
    client = api.client(seeded.hlf_admin)
    assert client.get("/api/orgs/hlf/status").status_code == 200
    Path(path).unlink()
    for wal in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        wal.unlink(missing_ok=True)
    saved = client.put(SETTINGS, json={"alerts": {"error_threshold": 20}})
    assert saved.status_code == 503 and "missing" in saved.json()["detail"]
    status = client.get("/api/orgs/hlf/status")
    assert status.status_code == 503 and "green" not in status.text
