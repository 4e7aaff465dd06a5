"""Every sync run says what started it: table of tags to words."""

from __future__ import annotations

import pytest

from accsync_pipeline.domain.run_starter import started_by

NAMES = {"kari.admin": "Kari Nordmann"}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"accsync/trigger": "manual", "accsync/user": "kari.admin"}, "Sync Now by Kari Nordmann"),
        ({"accsync/trigger": "manual", "accsync/user": "ops", "accsync/via": "cli"}, "Command line by ops"),
        ({"accsync/trigger": "manual", "accsync/via": "cli"}, "Command line"),
        ({"accsync/trigger": "schedule", "dagster/schedule_name": "hlf_sync"}, "Schedule"),
        ({"accsync/trigger": "approval", "dagster/sensor_name": "approvals"}, "Approval sensor"),
        ({"accsync/trigger": "auto_retry"}, "Automatic retry (retry sensor)"),
        (
            {"accsync/trigger": "retry", "accsync/user": "kari.admin"},
            "Retry of failed records by Kari Nordmann",
        ),
        (
            {"accsync/trigger": "manual", "accsync/user": "unknown", "dagster/parent_run_id": "p"},
            "Re-execution in the Dagster UI",
        ),
        ({"dagster/partition": "hlf", "dagster/backfill": "b1"}, "Backfill in the Dagster UI"),
        ({"dagster/partition": "hlf"}, "Dagster UI"),
        ({"accsync/trigger": "manual"}, "Dagster UI"),
        (
            {"accsync/trigger": "schedule", "dagster/retry_number": "1"},
            "Dagster's automatic run retry (attempt 1)",
        ),
    ],
)
def test_each_run_names_its_starter(tags: dict[str, str], expected: str) -> None:
    assert started_by(tags, NAMES) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        # A scheduled run launched without Dagster's schedule tag (the CLI's --trigger schedule).
        ({"accsync/trigger": "schedule"}, "Schedule"),
        # A run from Dagster's scheduler that the admission has not tagged yet.
        ({"dagster/schedule_name": "hlf_sync"}, "Schedule"),
        ({"dagster/sensor_name": "hlf_approvals"}, "Sensor hlf_approvals"),
        ({"accsync/trigger": "manual", "accsync/user": "ola"}, "Sync Now by ola"),
        ({"accsync/trigger": "retry"}, "Retry of failed records"),
        (
            {"accsync/trigger": "manual", "accsync/user": "kari.admin", "dagster/parent_run_id": "p"},
            "Re-execution in the Dagster UI by Kari Nordmann",
        ),
        ({"accsync/trigger": "manual", "accsync/user": "unknown", "accsync/via": "cli"}, "Command line"),
        ({"accsync/trigger": "schedule", "dagster/retry_number": ""}, "Schedule"),
    ],
)
def test_each_starter_in_its_own_words(tags: dict[str, str], expected: str) -> None:
    assert started_by(tags, NAMES) == expected


def test_without_user_names_a_person_is_named_by_id() -> None:
    assert started_by({"accsync/trigger": "manual", "accsync/user": "kari.admin"}) == "Sync Now by kari.admin"
