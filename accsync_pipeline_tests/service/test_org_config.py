"""Configuration service: validation by field before saving, secrets refused, connection tests, Dagster."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import AutoRetrySettings, OrgConfig, RetrySettings
from accsync_pipeline.domain.schedule import ManualSchedule
from accsync_pipeline.sandbox.dynamics import DEFAULT_COMPANY_ID
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import org_config
from accsync_pipeline.service.dagster_sync import apply_to_dagster
from accsync_pipeline.service.org_config import ConfigError
from accsync_pipeline.service.org_settings import check_auto_retry, check_retry
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.orgs import UnknownOrganization
from accsync_pipeline_tests import sandbox_fixtures
from accsync_pipeline_tests.sandbox_fixtures import (
    DYNAMICS_SECRET_ENV,
    XLEDGER_TOKEN_ENV,
    dynamics_settings,
    xledger_settings,
)

# The sandboxes, served over a real socket; bound here because this folder shares no conftest for them.
_xledger_server = sandbox_fixtures._xledger_server
_dynamics_server = sandbox_fixtures._dynamics_server
sandbox_secrets = sandbox_fixtures.sandbox_secrets
xledger_sandbox = sandbox_fixtures.xledger_sandbox
dynamics_sandbox = sandbox_fixtures.dynamics_sandbox

XLEDGER = {"base_url": "https://demo.xledger.net/", "token_env": "BF_XLEDGER_TOKEN"}
UNKNOWN_GUID = "00000000-0000-4000-8000-000000000000"
PASTED_TOKEN = "f3Kq9ZtX2bLw7RmN4cVj8HpA"


def fields_of(error: ConfigError) -> list[str]:
    return [field for field, _ in error.problems]


def add_bf(engine: Engine, **overrides: Any) -> OrgConfig:
    values: dict[str, Any] = {"name": "Blindeforbundet", "connector_type": "xledger", "settings": XLEDGER}
    values.update(overrides)
    with engine.begin() as conn:
        return org_config.add_org(conn, "bf", **values).after


def stored(engine: Engine, org_id: str = "bf") -> OrgConfig | None:
    with engine.connect() as conn:
        return org_store.find_org(conn, org_id)


def test_add_stores_only_the_settings_given_in_normal_form(engine: Engine) -> None:
    org = add_bf(engine)
    assert org.connector_settings.stored() == {
        "base_url": "https://demo.xledger.net",
        "token_env": "BF_XLEDGER_TOKEN",
    }
    assert stored(engine) == org
    assert org.schedule == ManualSchedule() and org.enabled and org.timezone == "Europe/Oslo"


def test_add_reports_every_problem_by_field_and_saves_nothing(engine: Engine) -> None:
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.add_org(
            conn,
            "Bad Slug",
            " ",
            "dynamics",
            {"base_url": "ftp://bc", "company_id": "not-a-guid", "colour": "blue"},
            timezone="Mars/Base",
            record_types=[],
        )
    assert fields_of(caught.value) == [
        "org_id",
        "name",
        "timezone",
        "base_url",
        "tenant",
        "company_id",
        "journal_id",
        "client_id",
        "client_secret_env",
        "colour",
        "record_types",
    ]
    assert "\n" not in str(caught.value)
    messages = dict(caught.value.problems)
    assert messages["company_id"] == "malformed; expected Company id (a GUID)"
    assert messages["client_secret_env"].startswith("required: Name of the environment variable")
    assert messages["colour"].startswith("unknown setting; known: timeout_seconds, base_url")
    with engine.connect() as conn:
        assert org_store.list_orgs(conn) == []


@pytest.mark.parametrize(
    ("connector_type", "key", "suggestion"),
    [
        ("xledger", "token", "token_env"),
        ("xledger", "api_token", "token_env"),
        ("dynamics", "client_secret", "client_secret_env"),
        ("dynamics", "password", "client_secret_env"),
    ],
)
def test_a_secret_value_is_refused_and_never_repeated(
    engine: Engine, connector_type: str, key: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.add_org(conn, "bf", "BF", connector_type, {key: PASTED_TOKEN})
    message = dict(caught.value.problems)[key]
    assert suggestion in message and "environment variable" in message
    assert PASTED_TOKEN not in str(caught.value)
    assert stored(engine) is None


def test_a_token_given_as_the_variable_name_is_refused(engine: Engine) -> None:
    with pytest.raises(ConfigError) as caught:
        add_bf(engine, settings={**XLEDGER, "token_env": PASTED_TOKEN})
    assert fields_of(caught.value) == ["token_env"]
    assert PASTED_TOKEN not in str(caught.value)


def test_an_org_is_added_once(engine: Engine) -> None:
    add_bf(engine)
    with pytest.raises(ConfigError, match="org_id: organization 'bf' already exists"):
        add_bf(engine, name="Another")
    assert stored(engine) is not None and stored(engine).name == "Blindeforbundet"  # type: ignore[union-attr]


def test_update_merges_settings_and_none_restores_the_default(engine: Engine) -> None:
    add_bf(engine, settings={**XLEDGER, "credit_account": "2940"})
    with engine.begin() as conn:
        change = org_config.update_integration(
            conn, "bf", {"credit_account": None, "max_concurrency": "8"}, name="BF"
        )
    assert change.after.connector_settings.stored() == {
        "base_url": "https://demo.xledger.net",
        "token_env": "BF_XLEDGER_TOKEN",
        "max_concurrency": 8,
    }
    assert change.affects_dagster  # the name is part of the schedule's description
    assert stored(engine) == change.after


def test_an_invalid_change_leaves_the_saved_configuration(engine: Engine) -> None:
    before = add_bf(engine)
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.update_integration(conn, "bf", {"base_url": "demo.xledger.net", "token_env": ""})
    assert fields_of(caught.value) == ["base_url", "token_env"]
    assert stored(engine) == before


def test_switching_connector_needs_the_new_connectors_settings(engine: Engine) -> None:
    add_bf(engine)
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.update_integration(
            conn, "bf", {"base_url": "https://bc.example"}, connector_type="dynamics"
        )
    assert "token_env" not in fields_of(caught.value)
    assert "company_id" in fields_of(caught.value)
    settings = {
        "base_url": "https://api.businesscentral.dynamics.com",
        "tenant": "contoso.onmicrosoft.com",
        "company_id": DEFAULT_COMPANY_ID,
        "journal_id": UNKNOWN_GUID,
        "client_id": "accsync",
        "client_secret_env": "BF_BC_SECRET",
    }
    with engine.begin() as conn:
        change = org_config.update_integration(conn, "bf", settings, connector_type="dynamics")
    assert change.after.connector_type == "dynamics" and change.after.connector_settings.stored() == settings


def test_only_changes_dagster_depends_on_ask_for_a_reload(engine: Engine) -> None:
    add_bf(engine)
    with engine.begin() as conn:
        assert not org_config.update_integration(conn, "bf", {"credit_account": "2940"}).affects_dagster
        assert org_config.set_enabled(conn, "bf", False).affects_dagster
        assert not org_config.set_enabled(conn, "bf", False).affects_dagster
        assert not org_config.update_sync_settings(conn, "bf", record_types=["honorarium"]).affects_dagster
        assert org_config.update_sync_settings(conn, "bf", timezone="UTC").affects_dagster
        change = org_config.update_sync_settings(conn, "bf", schedule_spec={"kind": "daily", "time": "2:00"})
        assert change.affects_dagster and change.after.schedule.to_spec() == {
            "kind": "daily",
            "time": "02:00",
        }
    assert stored(engine) is not None and not stored(engine).enabled  # type: ignore[union-attr]


def test_changing_an_unknown_org_says_so(engine: Engine) -> None:
    with pytest.raises(UnknownOrganization), engine.begin() as conn:
        org_config.set_enabled(conn, "nobody", True)


def test_sync_settings_change_only_what_is_given(engine: Engine) -> None:
    add_bf(engine)
    with engine.begin() as conn:
        change = org_config.update_sync_settings(
            conn,
            "bf",
            record_types=["honorarium", "reimbursement", "honorarium"],
            retry={"max_retries": 5},
            auto_retry=AutoRetrySettings(60, 3600),
            alerts={"error_threshold": 20},
            sync_on_approval=True,
        )
    after = change.after
    assert after.record_types == ("reimbursement", "honorarium")
    assert after.retry == RetrySettings(max_retries=5, base_delay_seconds=30)
    assert after.auto_retry == AutoRetrySettings(60, 3600)
    assert (after.alerts.error_threshold, after.alerts.consecutive_failures) == (20, 3)
    assert after.sync_on_approval and stored(engine) == after


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule_spec": {"kind": "custom", "cron": "61 * * * *"}}, "schedule"),
        ({"schedule_spec": {"kind": "hourly"}}, "schedule"),
        ({"record_types": []}, "record_types"),
        ({"record_types": ["reimbursement", "mileage"]}, "record_types"),
        ({"retry": {"max_retries": 11}}, "retry.max_retries"),
        ({"retry": {"max_retries": True}}, "retry.max_retries"),
        ({"retry": {"base_delay_seconds": 3601}}, "retry.base_delay_seconds"),
        ({"retry": {"attempts": 3}}, "retry.attempts"),
        ({"auto_retry": {"base_seconds": 0}}, "auto_retry.base_seconds"),
        ({"auto_retry": {"base_seconds": 600, "max_seconds": 300}}, "auto_retry.max_seconds"),
        ({"alerts": {"pending_hours": 0}}, "alerts.pending_hours"),
        ({"timezone": "Europe/Olso"}, "timezone"),
    ],
)
def test_sync_settings_are_validated_before_saving(
    engine: Engine, changes: dict[str, Any], field: str
) -> None:
    before = add_bf(engine)
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.update_sync_settings(conn, "bf", **changes)
    assert fields_of(caught.value) == [field]
    assert stored(engine) == before


def test_an_invalid_cron_says_how_to_fix_it(engine: Engine) -> None:
    add_bf(engine)
    with pytest.raises(ConfigError) as caught, engine.begin() as conn:
        org_config.update_sync_settings(conn, "bf", schedule_spec={"kind": "custom", "cron": "0 0 6 * * *"})
    assert str(caught.value) == (
        "schedule: cron expression needs 5 fields (minute hour day-of-month month day-of-week), "
        "got 6 in '0 0 6 * * *' (Dagster schedules have no seconds or years field)"
    )


@given(retries=st.integers(-100, 100), delay=st.integers(-10_000, 10_000))
def test_retry_bounds(retries: int, delay: int) -> None:
    problems = dict(check_retry(RetrySettings(retries, delay)))
    assert ("retry.max_retries" in problems) == (not 0 <= retries <= 10)
    assert ("retry.base_delay_seconds" in problems) == (not 0 <= delay <= 3600)


@given(base=st.integers(-10, 4000), ceiling=st.integers(-10, 10**6))
def test_auto_retry_bounds(base: int, ceiling: int) -> None:
    problems = check_auto_retry(AutoRetrySettings(base, ceiling))
    assert (problems == []) == (1 <= base <= 3600 and base <= ceiling <= 7 * 24 * 3600)


# Connection tests against the sandboxes, over a real socket.


def sandbox_org(connector_type: str, settings: dict[str, Any]) -> OrgConfig:
    return OrgConfig("bf", "BF", connector_type, settings)


def test_connection_ok(xledger_sandbox: RunningSandbox, dynamics_sandbox: RunningSandbox) -> None:
    xledger = org_config.test_connection(sandbox_org("xledger", xledger_settings(xledger_sandbox)))
    assert xledger.ok and xledger.message == f"connected to Xledger at {xledger_sandbox.base_url}"
    dynamics = org_config.test_connection(sandbox_org("dynamics", dynamics_settings(dynamics_sandbox)))
    assert dynamics.ok, dynamics.message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"company_id": UNKNOWN_GUID}, "no such company, journal or environment"),
        ({"journal_id": UNKNOWN_GUID}, "no such company, journal or environment"),
        ({"client_secret_env": "ACCSYNC_TEST_UNSET_SECRET"}, "ACCSYNC_TEST_UNSET_SECRET is not set"),
    ],
)
def test_connection_names_what_is_wrong(
    dynamics_sandbox: RunningSandbox, overrides: dict[str, str], expected: str
) -> None:
    check = org_config.test_connection(
        sandbox_org("dynamics", dynamics_settings(dynamics_sandbox, **overrides))
    )
    assert not check.ok and expected in check.message and "\n" not in check.message


def test_connection_with_a_wrong_secret(
    xledger_sandbox: RunningSandbox, dynamics_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(XLEDGER_TOKEN_ENV, "not-the-token")
    monkeypatch.setenv(DYNAMICS_SECRET_ENV, "not-the-secret")
    xledger = org_config.test_connection(sandbox_org("xledger", xledger_settings(xledger_sandbox)))
    assert not xledger.ok and "refused the API token" in xledger.message
    dynamics = org_config.test_connection(sandbox_org("dynamics", dynamics_settings(dynamics_sandbox)))
    assert not dynamics.ok and "refused client_id/secret" in dynamics.message
    for message in (xledger.message, dynamics.message):
        assert "not-the" not in message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_to_an_unreachable_host(sandbox_secrets: None) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    check = org_config.test_connection(
        sandbox_org("xledger", {"base_url": url, "token_env": XLEDGER_TOKEN_ENV})
    )
    assert not check.ok and check.message.startswith("cannot connect")


# Telling Dagster.


class FakeDagsterWebserver(BaseHTTPRequestHandler):
    """Answers the two mutations `apply_to_dagster` sends, as Dagster's GraphQL API does, and records them."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body)
        if "addDynamicPartition" in body["query"]:
            data: dict[str, Any] = {"addDynamicPartition": {"__typename": "AddDynamicPartitionSuccess"}}
        else:
            data = {
                "reloadRepositoryLocation": {
                    "__typename": "WorkspaceLocationEntry",
                    "locationOrLoadError": {"__typename": "RepositoryLocation"},
                }
            }
        answer = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def dagster_webserver() -> Iterator[str]:
    FakeDagsterWebserver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDagsterWebserver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_apply_through_graphql_adds_the_partition_and_reloads(
    dagster_webserver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", dagster_webserver)
    update = apply_to_dagster("bf")
    assert update.ok, update.message
    sent = FakeDagsterWebserver.received
    assert [b["variables"].get("key") for b in sent] == ["bf", None]
    assert "reloadRepositoryLocation" in sent[1]["query"]


def test_apply_without_a_webserver_adds_the_partition_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCSYNC_DAGSTER_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert apply_to_dagster("bf").ok
    with dg.DagsterInstance.get() as instance:
        assert instance.has_dynamic_partition("organization", "bf")


def test_dagster_down_is_a_warning_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", f"http://127.0.0.1:{free_port()}")
    update = apply_to_dagster("bf")
    assert not update.ok
    assert update.message.startswith("saved, but Dagster was not updated (cannot reach Dagster at")
    assert "\n" not in update.message
