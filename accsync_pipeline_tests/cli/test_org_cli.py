"""`accsync org add|set|test|show` as a new administrator uses them, against sandboxes on real sockets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from accsync_pipeline.cli import root
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline.store.schema import organizations
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

UNKNOWN_GUID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def cli_env(accsync_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated accsync database and a Dagster instance of this test's own, no webserver."""
    engine = create_engine()
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("ACCSYNC_DAGSTER_URL", raising=False)
    return accsync_env


def accsync(*args: str) -> Result:
    return CliRunner().invoke(root, list(args))


def setting_args(settings: dict[str, str]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("--setting", f"{key}={value}")]


def add(org_id: str, connector: str, settings: dict[str, str], *extra: str) -> Result:
    return accsync(
        "org",
        "add",
        org_id,
        "--name",
        org_id.upper(),
        "--connector",
        connector,
        *setting_args(settings),
        *extra,
    )


def saved_orgs() -> list[OrgConfig]:
    engine = create_engine()
    with engine.connect() as conn:
        orgs = org_store.list_orgs(conn)
    engine.dispose()
    return orgs


def test_add_and_test_an_xledger_org(cli_env: str, xledger_sandbox: RunningSandbox) -> None:
    result = add("bf", "xledger", xledger_settings(xledger_sandbox))
    assert result.exit_code == 0, result.output
    assert "added bf (xledger, enabled)" in result.stdout
    result = accsync("org", "test", "bf")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"connection OK: connected to Xledger at {xledger_sandbox.base_url}\n"


def test_a_wrong_or_missing_token(
    cli_env: str, xledger_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert add("bf", "xledger", xledger_settings(xledger_sandbox)).exit_code == 0
    monkeypatch.setenv(XLEDGER_TOKEN_ENV, "wrong-token")
    result = accsync("org", "test", "bf")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: connection failed: Xledger refused the API token (bad format for api token); "
        "check token_env's variable\n"
    )
    monkeypatch.delenv(XLEDGER_TOKEN_ENV)
    result = accsync("org", "test", "bf")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: connection failed: environment variable {XLEDGER_TOKEN_ENV} is not set "
        "(it should hold the secret)\n"
    )


def test_an_unreachable_host(cli_env: str, sandbox_secrets: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert (
        add(
            "bf", "xledger", {"base_url": f"http://127.0.0.1:{port}", "token_env": XLEDGER_TOKEN_ENV}
        ).exit_code
        == 0
    )
    result = accsync("org", "test", "bf")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: connection failed: cannot connect: POST http://127.0.0.1:{port}/graphql"
    )
    assert result.stderr.count("\n") == 1


def test_business_central_company_journal_and_secret(
    cli_env: str, dynamics_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert add("hlf", "dynamics", dynamics_settings(dynamics_sandbox)).exit_code == 0
    assert accsync("org", "test", "hlf").stdout.startswith(
        "connection OK: connected to Business Central company"
    )
    for key in ("journal_id", "company_id"):
        assert accsync("org", "set", "hlf", "--setting", f"{key}={UNKNOWN_GUID}").exit_code == 0
        result = accsync("org", "test", "hlf")
        assert result.exit_code == 1
        assert "found no such company, journal or environment" in result.stderr
    monkeypatch.setenv(DYNAMICS_SECRET_ENV, "wrong-secret")
    result = accsync("org", "test", "hlf")
    assert result.exit_code == 1 and "wrong-secret" not in result.output


def test_missing_and_malformed_settings_are_refused_with_their_keys(cli_env: str) -> None:
    result = add("hlf", "dynamics", {"base_url": "api.businesscentral.dynamics.com", "company_id": "42"})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: nothing saved:",
        "  base_url: must be an http(s) URL starting with https://",
        "  tenant: required: Entra tenant",
        "  company_id: malformed; expected Company id (a GUID)",
        "  journal_id: required: General journal id (a GUID)",
        "  client_id: required: App registration (client) id",
        "  client_secret_env: required: Name of the environment variable holding the client secret",
    ]
    result = add("BF!", "xledger", {"base_url": "https://demo.xledger.net"}, "--timezone", "Oslo")
    assert result.exit_code == 1
    assert [line.split(":")[0].strip() for line in result.stderr.splitlines()[1:]] == [
        "org_id",
        "timezone",
        "token_env",
    ]
    result = add("bf", "xledger", {}, "--setting", "token_env")
    assert result.exit_code == 1 and "--setting number 1 is not KEY=VALUE" in result.stderr
    assert saved_orgs() == []


def test_a_secret_is_refused_and_not_echoed(cli_env: str) -> None:
    result = add("bf", "xledger", {"base_url": "https://demo.xledger.net", "token": "s3cr3t-t0ken-value"})
    assert result.exit_code == 1
    assert (
        "token: secrets are never stored; set token_env to the name of the environment variable"
        in result.stderr
    )
    assert "s3cr3t" not in result.output
    assert saved_orgs() == []


def test_show_and_list_never_print_a_secret(cli_env: str) -> None:
    engine = create_engine()
    with engine.begin() as conn:
        # As a row written by hand might look; the tool itself never stores one.
        org_store.insert_org(
            conn, OrgConfig("bf", "BF", "xledger", {"token_env": "BF_TOKEN", "api_token": "leak"})
        )
    engine.dispose()
    for args in (["org", "show", "bf"], ["org", "show", "bf", "--json"], ["org", "list", "--json"]):
        result = accsync(*args)
        assert result.exit_code == 0 and "BF_TOKEN" in result.stdout and "leak" not in result.stdout
    assert (
        json.loads(accsync("org", "show", "bf", "--json").stdout)["connector_settings"]["api_token"]
        == "<hidden>"
    )


def test_disabled_org_is_not_synced(cli_env: str, xledger_sandbox: RunningSandbox) -> None:
    assert add("bf", "xledger", xledger_settings(xledger_sandbox), "--disabled").exit_code == 0
    result = accsync("sync", "--org", "bf")
    assert result.exit_code == 1
    assert "bf's integration is disabled; enable it with `accsync org set bf --enable`" in result.stderr
    result = accsync("org", "set", "bf", "--enable")
    assert result.exit_code == 0 and "saved bf (xledger, enabled)" in result.stdout
    assert accsync("org", "set", "bf", "--disable").exit_code == 0
    assert not saved_orgs()[0].enabled
    assert accsync("sync", "--org", "bf").exit_code == 1


def test_set_changes_settings_and_reports_nothing_to_change(
    cli_env: str, xledger_sandbox: RunningSandbox
) -> None:
    assert add("bf", "xledger", xledger_settings(xledger_sandbox, credit_account="2940")).exit_code == 0
    assert (
        accsync(
            "org", "set", "bf", "--setting", "credit_account=", "--setting", "max_concurrency=2"
        ).exit_code
        == 0
    )
    assert saved_orgs()[0].connector_settings.stored() == xledger_settings(xledger_sandbox, max_concurrency=2)
    result = accsync("org", "set", "bf")
    assert result.exit_code == 1 and "nothing to change" in result.stderr
    result = accsync("org", "set", "bf", "--setting", "max_concurrency=99")
    assert (
        result.exit_code == 1 and "max_concurrency: Input should be less than or equal to 16" in result.stderr
    )
    assert accsync("org", "set", "nobody", "--enable").stderr == (
        "Error: unknown organization 'nobody' (see `accsync org list`)\n"
    )


def test_new_org_gets_its_dagster_partition(cli_env: str, xledger_sandbox: RunningSandbox) -> None:
    result = add("bf", "xledger", xledger_settings(xledger_sandbox))
    assert "partition bf is in the local Dagster instance" in result.stdout, result.stderr
    with dg.DagsterInstance.get() as instance:
        assert instance.has_dynamic_partition("organization", "bf")


def test_add_help_lists_every_setting() -> None:
    result = accsync("org", "add", "--help")
    assert result.exit_code == 0
    for key in (
        "base_url",
        "token_env",
        "credit_account",
        "requests_per_second",
        "auth_url",
        "tenant",
        "environment",
        "company_id",
        "journal_id",
        "client_id",
        "client_secret_env",
        "scope",
    ):
        assert f"    {key} (" in result.stdout


def test_list_shows_each_schedule_kind_as_the_configuration_reads_it(cli_env: str) -> None:
    # The table reads the narrow listing, `--json` whole configurations: both name the same kind,
    # for specs that parse and for specs saved by hand that no longer do.
    specs: dict[str, object] = {
        "a-daily": {"kind": "daily", "time": "02:00"},
        "b-hourly": {"kind": "hourly"},
        "c-empty": {},
        "d-weekly": {"kind": "weekly", "time": "16:00"},
    }
    engine = create_engine()
    with engine.begin() as conn:
        for org_id, spec in specs.items():
            org_store.insert_org(conn, OrgConfig(org_id, org_id.upper(), "xledger", {"token_env": "T"}))
            conn.execute(
                sa.update(organizations).where(organizations.c.org_id == org_id).values(schedule=spec)
            )
    engine.dispose()
    table = accsync("org", "list")
    assert table.exit_code == 0, table.output
    shown = {line.split()[0]: line.split()[4] for line in table.stdout.splitlines()[1:]}
    assert shown == {"a-daily": "daily", "b-hourly": "hourly", "c-empty": "manual", "d-weekly": "weekly"}
    listed = json.loads(accsync("org", "list", "--json").stdout)
    assert shown == {o["org_id"]: str(o["schedule"].get("kind")) for o in listed}
