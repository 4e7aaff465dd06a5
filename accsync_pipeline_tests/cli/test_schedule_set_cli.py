"""`accsync schedule set|show`: saved through the service, shown back, and built into Dagster's schedules."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner, Result

from accsync_pipeline.cli import root
from accsync_pipeline.defs.schedule_plan import schedule_name
from accsync_pipeline.defs.schedules import build_org_schedules, built_schedules
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade

AFTER = "2026-03-27T12:00+01:00"


@pytest.fixture
def bf(accsync_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Blindeforbundet on Xledger, Manual only, in a migrated database; a Dagster instance of its own."""
    engine = create_engine()
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.delenv("ACCSYNC_DAGSTER_URL", raising=False)
    result = accsync(
        "org", "add", "bf", "--name", "Blindeforbundet", "--connector", "xledger",
        "--setting", "base_url=https://demo.xledger.net", "--setting", "token_env=BF_XLEDGER_TOKEN",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return "bf"


def accsync(*args: str) -> Result:
    return CliRunner().invoke(root, list(args))


def show(org_id: str = "bf") -> dict[str, Any]:
    result = accsync("schedule", "show", "--org", org_id, "--after", AFTER, "--json")
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def built(org_id: str = "bf") -> dg.ScheduleDefinition | None:
    """The schedule that runs the org when the code location loads now (one per cron and timezone)."""
    schedules = {s.name: s for s in build_org_schedules()}
    key = next((key for key, orgs in built_schedules().items() if org_id in orgs), None)
    return None if key is None else schedules[schedule_name(*key)]


def test_daily_schedule_is_saved_shown_and_built(bf: str) -> None:
    result = accsync("schedule", "set", "--org", bf, "--daily", "02:00")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "bf: At 02:00, every day (Europe/Oslo)"
    assert result.stdout.splitlines()[1].startswith("next run: ")
    answer = show()
    assert (answer["kind"], answer["spec"], answer["cron"]) == (
        "daily",
        {"kind": "daily", "time": "02:00"},
        "0 2 * * *",
    )
    # Across the spring clock change: 02:00 does not exist on 29 March, Dagster runs at 03:00.
    assert answer["next_runs"][:3] == [
        "2026-03-28T02:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:00:00+02:00",
    ]
    assert answer["next_runs_utc"][0] == "2026-03-28T01:00:00+00:00" and len(answer["next_runs"]) == 5
    schedule = built()
    assert schedule is not None
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/Oslo")


def test_custom_cron_with_types_timezone_and_retries(bf: str) -> None:
    result = accsync(
        "schedule", "set", "--org", bf, "--cron", "0 6,18 * * MON-FRI", "--types", "honorarium",
        "--timezone", "UTC", "--retries", "5", "--retry-delay", "60", "--sync-on-approval",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = show()
    assert answer["cron"] == "0 6,18 * * 1-5"
    assert answer["description"] == "At 06:00 and 18:00, Monday through Friday (UTC)"
    assert answer["record_types"] == ["honorarium"] and answer["timezone"] == "UTC"
    assert (answer["max_retries"], answer["retry_delay_seconds"], answer["sync_on_approval"]) == (5, 60, True)
    schedule = built()
    assert schedule is not None
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6,18 * * 1-5", "UTC")


def test_weekly_and_monthly_presets(bf: str) -> None:
    assert accsync("schedule", "set", "--org", bf, "--weekly", "Friday", "16:00").exit_code == 0
    assert show()["cron"] == "0 16 * * 5"
    assert accsync("schedule", "set", "--org", bf, "--monthly", "last", "23:30").exit_code == 0
    answer = show()
    assert answer["spec"] == {"kind": "monthly", "day": "last", "time": "23:30"}
    assert answer["next_runs"][0] == "2026-03-31T23:30:00+02:00"


def test_switching_to_manual_removes_the_dagster_schedule(bf: str) -> None:
    assert accsync("schedule", "set", "--org", bf, "--daily", "02:00").exit_code == 0
    assert built() is not None
    result = accsync("schedule", "set", "--org", bf, "--manual")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "bf: Manual only: runs when someone starts a sync"
    assert "next run" not in result.stdout
    assert built() is None
    assert show()["next_runs"] == [] and show()["cron"] is None


def test_a_disabled_org_has_no_dagster_schedule_and_no_next_runs(bf: str) -> None:
    assert accsync("schedule", "set", "--org", bf, "--daily", "02:00").exit_code == 0
    assert accsync("org", "set", bf, "--disable").exit_code == 0
    assert built() is None
    answer = show()
    assert answer["enabled"] is False and answer["next_runs"] == []
    assert answer["description"].endswith("; the integration is disabled, so it does not run")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "0 0 6 * * *"], "(Dagster schedules have no seconds or years field)"),
        (["--cron", "61 * * * *"], "schedule: minute field: 61 is out of range 0-59"),
        (["--daily", "24:00"], "schedule: time: '24:00' is not a 24-hour time HH:MM (00:00-23:59)"),
        (["--weekly", "fredag", "16:00"], "schedule: weekday: 'fredag' must be one of monday"),
        (["--monthly", "31", "08:00"], "so choose 'last' for month-end"),
        (["--daily", "02:00", "--cron", "0 2 * * *"], "choose one schedule, not --daily and --cron"),
        (
            ["--types", "mileage"],
            "record_types: unknown mileage; choose one or more of: reimbursement, honorarium",
        ),
        (["--retries", "11"], "retry.max_retries: must be a whole number 0-10"),
        (["--retry-delay", "7200"], "retry.base_delay_seconds: must be a whole number 0-3600 seconds"),
        (["--timezone", "Europe/Olso"], "unknown timezone 'Europe/Olso'"),
        ([], "nothing to change"),
    ],
)
def test_invalid_input_says_how_to_fix_it_and_saves_nothing(bf: str, args: list[str], message: str) -> None:
    assert accsync("schedule", "set", "--org", bf, "--weekly", "friday", "16:00").exit_code == 0
    before = show()
    result = accsync("schedule", "set", "--org", bf, *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert show() == before


def test_unknown_org(bf: str) -> None:
    result = accsync("schedule", "show", "--org", "nobody")
    assert result.exit_code == 1
    assert result.stderr == "Error: unknown organization 'nobody' (see `accsync org list`)\n"


def test_text_show(bf: str) -> None:
    assert accsync("schedule", "set", "--org", bf, "--daily", "02:00").exit_code == 0
    result = accsync("schedule", "show", "--org", bf, "--after", AFTER)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "org:              bf",
        'schedule:         daily {"kind": "daily", "time": "02:00"}',
        "cron:             0 2 * * *",
        "description:      At 02:00, every day (Europe/Oslo)",
    ]
    assert "next runs (Europe/Oslo)            UTC" in lines
    assert "2026-03-29 Sun 03:00 CEST (+0200)  2026-03-29 01:00" in lines


def test_dagster_down_warns_but_keeps_the_schedule(bf: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", f"http://127.0.0.1:{port}")
    result = accsync("schedule", "set", "--org", bf, "--daily", "02:00")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: saved, but Dagster was not updated (cannot reach Dagster at")
    assert show()["cron"] == "0 2 * * *"


def test_describe_still_works() -> None:
    result = accsync("schedule", "describe", "0 16 * * FRI", "--tz", "UTC", "--count", "1")
    assert result.exit_code == 0 and "At 16:00, only on Friday (UTC)" in result.stdout
