"""The command line starts without Dagster: commands load lazily, read commands import only what they use."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import Engine

from accsync_pipeline.cli import COMMANDS, root
from accsync_pipeline_tests.factories import add_org_with_admin, sandbox_org

HEAVY = ("dagster", "pandas", "httpx", "fastapi")
# The connector settings models: only commands that show or change an org's settings load them.
SETTINGS_MODELS = "pydantic"
NOWHERE = {  # settings of a ledger nobody calls: these commands only read
    "base_url": "http://127.0.0.1:9",
    "auth_url": "http://127.0.0.1:9",
    "tenant": "t",
    "environment": "production",
    "company_id": "5f3b7c1e-0b4d-4e8a-9c2f-6a1d2e3f4a5b",
    "journal_id": "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f",
    "client_id": "accsync-test",
    "client_secret_env": "ACCSYNC_TEST_UNSET_SECRET",
}

# Runs in a fresh interpreter: loads the CLI, runs the command through click's CliRunner, and
# prints which heavy packages the process has imported.
PROBE = f"""
import json, sys
import accsync_pipeline.cli
from click.testing import CliRunner
result = CliRunner().invoke(accsync_pipeline.cli.root, sys.argv[1:])
loaded = [m for m in {(*HEAVY, SETTINGS_MODELS)!r} if m in sys.modules]
print(json.dumps(dict(exit_code=result.exit_code, output=result.output, loaded=loaded)))
"""


def probe(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        timeout=60,
    )
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_help_loads_no_command_module_and_no_dagster() -> None:
    found = probe("--help")
    assert found["exit_code"] == 0, found["output"]
    assert found["loaded"] == []
    output = str(found["output"])
    assert all(name in output for name in COMMANDS)


def test_read_commands_do_not_import_dagster(engine: Engine, accsync_env: str) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "dynamics", NOWHERE))
    for args, settings_models in (
        (("org", "list"), False),
        (("org", "show", "acme"), True),
        (("history", "--org", "acme"), False),
        (("notifications", "--user", "acme.admin"), False),
        # Next runs across a clock change, computed without Dagster's scheduler module.
        (("schedule", "describe", "30 2 * * *", "--after", "2026-03-28T12:00:00+00:00"), False),
    ):
        found = probe(*args)
        assert found["exit_code"] == 0, (args, found["output"])
        assert found["loaded"] == ([SETTINGS_MODELS] if settings_models else []), args


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_static_command_table_matches_each_command(name: str) -> None:
    module, help_text = COMMANDS[name]
    command = importlib.import_module(f"accsync_pipeline.cli.{module}").command
    assert command.name == name
    assert command.get_short_help_str(limit=1000) == help_text
    assert root.get_command(None, name) is command  # type: ignore[arg-type]
