"""Liveness verdicts and run admission: pure decisions, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accsync_pipeline.domain.liveness import RunView, Verdict, explain, judge, stale_after
from accsync_pipeline.domain.run_admission import Admitted, Refused, admit

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BOUND = timedelta(seconds=90)


@pytest.mark.parametrize(
    ("status", "row_open", "age", "alive", "expected"),
    [
        ("STARTED", True, 5, None, Verdict.ALIVE),
        ("STARTED", True, 89, None, Verdict.ALIVE),
        ("STARTED", True, 91, None, Verdict.STALE),
        ("STARTED", True, 91, True, Verdict.STALE),  # a live pid does not excuse silence (hung, or reused)
        ("STARTED", True, 1, False, Verdict.WORKER_GONE),  # certainly gone: no need to wait for the bound
        ("STARTED", False, 200, None, Verdict.STALE),  # died before its row was written, or after closing it
        ("CANCELING", True, 200, None, Verdict.STALE),
        ("FAILURE", True, 1, None, Verdict.ENDED),
        ("CANCELED", True, 1, None, Verdict.ENDED),
        ("SUCCESS", True, 1, None, Verdict.ENDED),
        (None, True, 1, None, Verdict.ENDED),
        ("FAILURE", False, 500, False, Verdict.FINE),
        ("QUEUED", False, 5000, None, Verdict.FINE),  # Dagster's run monitoring bounds queued/starting
        ("STARTING", True, 5000, None, Verdict.FINE),
    ],
)
def test_a_run_is_ended_only_when_dagster_ended_it_or_its_process_is_gone_or_silent(
    status: str | None, row_open: bool, age: int, alive: bool | None, expected: Verdict
) -> None:
    view = RunView(status, row_open, NOW - timedelta(seconds=age), alive)
    assert judge(view, NOW, BOUND) is expected


def test_the_reason_is_in_words_and_names_the_bound() -> None:
    assert "90 s" in explain(Verdict.STALE, BOUND, "STARTED")
    assert "stopped" in explain(Verdict.WORKER_GONE, BOUND, "STARTED")
    assert "canceled" in explain(Verdict.ENDED, BOUND, "CANCELED")


@pytest.mark.parametrize(("raw", "seconds"), [("", 90), ("30", 30), ("3", 10), ("x", 90)])
def test_the_bound_comes_from_the_environment_and_has_a_floor(
    monkeypatch: pytest.MonkeyPatch, raw: str, seconds: int
) -> None:
    monkeypatch.setenv("ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS", raw)
    assert stale_after() == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("tags", "partition", "exists", "refused_with"),
    [
        ({}, None, False, "names no organization partition"),
        ({"accsync/org": "hlf"}, None, False, "names no organization partition"),
        ({"accsync/org": "other"}, "hlf", True, "contradicts its partition hlf"),
        ({}, "ghost", False, "ghost is not an organization in accsync"),
    ],
)
def test_runs_that_name_no_known_org_or_contradict_their_partition_are_refused(
    tags: dict[str, str], partition: str | None, exists: bool, refused_with: str
) -> None:
    decision = admit(tags, partition, exists)
    assert isinstance(decision, Refused) and refused_with in decision.message


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        # The Dagster UI: only the partition tag; the sync log's tags are added.
        (
            {"dagster/partition": "hlf"},
            Admitted("hlf", "manual", None, {"accsync/org": "hlf", "accsync/trigger": "manual"}),
        ),
        (
            {"accsync/org": "hlf", "accsync/trigger": "schedule", "dagster/partition": "hlf"},
            Admitted("hlf", "schedule", None, {}),
        ),
        # A re-execution of a scheduled run, by a known user: manual, by them.
        (
            {
                "accsync/org": "hlf",
                "accsync/trigger": "schedule",
                "dagster/parent_run_id": "p",
                "user": "ola",
            },
            Admitted(
                "hlf",
                "manual",
                "ola",
                {"accsync/org": "hlf", "accsync/trigger": "manual", "accsync/user": "ola"},
            ),
        ),
        # ... by someone Dagster does not name: manual, by unknown (not the original run's user).
        (
            {
                "accsync/trigger": "manual",
                "accsync/user": "kari",
                "dagster/root_run_id": "p",
                "dagster/parent_run_id": "p",
            },
            Admitted(
                "hlf",
                "manual",
                "unknown",
                {"accsync/org": "hlf", "accsync/trigger": "manual", "accsync/user": "unknown"},
            ),
        ),
        # Dagster's own automatic run retry keeps the original trigger.
        (
            {
                "accsync/org": "hlf",
                "accsync/trigger": "schedule",
                "dagster/parent_run_id": "p",
                "dagster/retry_number": "1",
            },
            Admitted("hlf", "schedule", None, {}),
        ),
    ],
)
def test_admitted_runs_get_the_sync_logs_tags_and_reexecutions_are_manual(
    tags: dict[str, str], expected: Admitted
) -> None:
    assert admit(tags, "hlf", True) == expected
