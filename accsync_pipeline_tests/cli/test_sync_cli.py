"""`accsync sync` and `accsync history` as a user runs them: summary, exit codes, the sync log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from accsync_pipeline.cli import root
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    dynamics_sandbox,
    dynamics_settings,
    sandbox_secrets,
)


@pytest.fixture
def dagster_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ACCSYNC_DAGSTER_URL", raising=False)
    with dg.instance_for_test():  # sets DAGSTER_HOME to a fresh directory for the command
        yield


@pytest.fixture
def acme(engine: Engine, accsync_env: str, dynamics_sandbox: RunningSandbox) -> RunningSandbox:  # noqa: F811
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "acme", 12)
        add_sources(conn, "acme", 1, prefix="S", employee_number=None)
    return dynamics_sandbox


def test_sync_prints_the_summary_and_history_lists_the_run(acme: RunningSandbox, dagster_home: None) -> None:
    runner = CliRunner()
    result = runner.invoke(root, ["sync", "--org", "acme", "--user", "acme.admin", "--wait"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "exported: 12  skipped: 1  failed: 0" in result.output
    assert "skipped S00000: no employee number" in result.output
    assert len(acme.postings()) == 12

    history = runner.invoke(root, ["history", "--org", "acme", "--json"])
    assert history.exit_code == 0, history.output
    [run] = json.loads(history.output)
    assert (
        run["trigger"],
        run["user_id"],
        run["exported"],
        run["skipped"],
        run["failed"],
        run["status"],
    ) == (
        "manual",
        "acme.admin",
        12,
        1,
        0,
        "SUCCESS",
    )


def test_a_failed_run_exits_non_zero(acme: RunningSandbox, dagster_home: None) -> None:
    acme.set_faults(server_errors=10_000)
    result = CliRunner().invoke(root, ["sync", "--org", "acme"])
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert acme.postings() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "--org", "nope"], "unknown organization 'nope'"),
        (["sync", "--org", "acme", "--types", "mileage"], "--types takes a comma-separated list of"),
        (["history", "--org", "nope"], "unknown organization 'nope'"),
    ],
)
def test_bad_input_is_one_clear_line(
    acme: RunningSandbox, dagster_home: None, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(root, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
