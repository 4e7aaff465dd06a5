"""`accsync schedule describe`: text and JSON, and a non-zero exit with the reason for a bad expression."""

from __future__ import annotations

import json

from click.testing import CliRunner

from accsync_pipeline.cli import root
from accsync_pipeline.cli.schedule import command


def test_describe_lists_runs_across_the_spring_clock_change() -> None:
    result = CliRunner().invoke(
        command, ["describe", "30 2 * * *", "--after", "2026-03-28T12:00+01:00", "--count", "2"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "cron:        30 2 * * *"
    assert lines[1] == "description: At 02:30, every day (Europe/Oslo)"
    assert lines[3:] == [
        "next runs (Europe/Oslo)            UTC",
        "2026-03-29 Sun 03:00 CEST (+0200)  2026-03-29 01:00",
        "2026-03-30 Mon 02:30 CEST (+0200)  2026-03-30 00:30",
    ]


def test_describe_json() -> None:
    result = CliRunner().invoke(
        command,
        ["describe", "0 * * * *", "--after", "2026-10-25T01:30+02:00", "--count", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer == {
        "valid": True,
        "expression": "0 * * * *",
        "cron": "0 * * * *",
        "timezone": "Europe/Oslo",
        "description": "Every hour (Europe/Oslo)",
        "next_runs": ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"],
        "next_runs_utc": [
            "2026-10-25T00:00:00+00:00",
            "2026-10-25T01:00:00+00:00",
            "2026-10-25T02:00:00+00:00",
        ],
        "error": None,
    }


def test_describe_in_another_timezone_and_normalised() -> None:
    result = CliRunner().invoke(
        command,
        ["describe", "0 16 * * FRI", "--tz", "UTC", "--after", "2026-01-01T00:00Z", "--json", "--count", "1"],
    )
    answer = json.loads(result.output)
    assert answer["cron"] == "0 16 * * 5"
    assert answer["description"] == "At 16:00, only on Friday (UTC)"
    assert answer["next_runs"] == ["2026-01-02T16:00:00+00:00"]


def test_invalid_expression_exits_non_zero_with_the_reason() -> None:
    result = CliRunner().invoke(command, ["describe", "0 25 * * *"])
    assert result.exit_code == 1
    assert "invalid schedule '0 25 * * *': hour field: 25 is out of range 0-23" in result.output


def test_invalid_expression_as_json() -> None:
    result = CliRunner().invoke(command, ["describe", "0 2 31 4 *", "--json"])
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["valid"] is False
    assert answer["error"] == "day-of-month field: 31 never occurs in April"
    assert answer["cron"] is None
    assert answer["next_runs"] == []


def test_unknown_timezone_and_bad_after() -> None:
    runner = CliRunner()
    result = runner.invoke(command, ["describe", "0 2 * * *", "--tz", "Oslo"])
    assert result.exit_code == 1
    assert "unknown timezone 'Oslo'" in result.output
    result = runner.invoke(command, ["describe", "0 2 * * *", "--after", "2026-01-01T00:00"])
    assert result.exit_code == 1
    assert "--after: '2026-01-01T00:00' needs a UTC offset" in result.output


def test_describe_is_part_of_the_accsync_command() -> None:
    result = CliRunner().invoke(root, ["schedule", "describe", "@daily", "--count", "1"])
    assert result.exit_code == 0, result.output
    assert "At 00:00, every day (Europe/Oslo)" in result.output
