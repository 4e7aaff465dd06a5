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


def test_a_run_silent_for_exactly_the_bound_is_still_alive() -> None:
    view = RunView("STARTED", True, NOW - BOUND, None)
    assert judge(view, NOW, BOUND) is Verdict.ALIVE
    assert judge(view, NOW + timedelta(microseconds=1), BOUND) is Verdict.STALE


@pytest.mark.parametrize(
    ("verdict", "status", "words"),
    [
        (
            Verdict.WORKER_GONE,
            "STARTED",
            "the process running this sync stopped (killed or crashed) before it finished",
        ),
        (
            Verdict.STALE,
            "STARTED",
            "the process running this sync gave no sign of life for 90 s (killed, crashed or cut off) "
            "before it finished",
        ),
        (Verdict.ENDED, "CANCELED", "the run was canceled in Dagster before it finished"),
        (Verdict.ENDED, None, "the run no longer exists in Dagster"),
        (Verdict.ENDED, "FAILURE", "the run ended in Dagster without recording its outcome"),
        (Verdict.ENDED, "SUCCESS", "the run ended in Dagster without recording its outcome"),
    ],
)
def test_each_way_a_run_ends_from_outside_has_its_own_sentence(
    verdict: Verdict, status: str | None, words: str
) -> None:
    assert explain(verdict, BOUND, status) == words


def test_without_the_setting_the_bound_is_90_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS", raising=False)
    assert stale_after() == timedelta(seconds=90)


@pytest.mark.parametrize(("raw", "seconds"), [(" 45 ", 45), ("10", 10), ("9", 10), ("-30", 90), ("1.5", 90)])
def test_the_bound_setting_is_whole_seconds_with_a_floor_of_ten(
    monkeypatch: pytest.MonkeyPatch, raw: str, seconds: int
) -> None:
    monkeypatch.setenv("ACCSYNC_HEARTBEAT_TIMEOUT_SECONDS", raw)
    assert stale_after() == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("tags", "partition", "exists", "message"),
    [
        (
            {},
            "",
            True,
            "refused: the run names no organization partition; launch it for one organization "
            "(Sync Now, `accsync sync --org`, or materialize one partition)",
        ),
        (
            {"accsync/org": "other"},
            "hlf",
            True,
            "refused: the run's tag accsync/org=other contradicts its partition hlf; "
            "launch it again with matching tags",
        ),
        (
            {"accsync/org": "ghost"},
            "ghost",
            False,
            "refused: ghost is not an organization in accsync; add it with `accsync org add` "
            "or pick an existing partition",
        ),
    ],
)
def test_a_refusal_says_what_to_do_word_for_word(
    tags: dict[str, str], partition: str, exists: bool, message: str
) -> None:
    assert admit(tags, partition, exists) == Refused(message)


def test_a_run_started_by_a_person_keeps_who_started_it() -> None:
    tags = {"accsync/org": "hlf", "accsync/trigger": "manual", "accsync/user": "kari.admin"}
    assert admit(tags, "hlf", True) == Admitted("hlf", "manual", "kari.admin", {})


def test_a_reexecution_whose_user_dagster_left_empty_is_by_an_unknown_user() -> None:
    tags = {"accsync/org": "hlf", "dagster/parent_run_id": "p", "user": ""}
    decision = admit(tags, "hlf", True)
    assert isinstance(decision, Admitted) and decision.user_id == "unknown"


def test_an_empty_trigger_tag_is_a_manual_run_and_is_corrected() -> None:
    tags = {"accsync/org": "hlf", "accsync/trigger": ""}
    assert admit(tags, "hlf", True) == Admitted("hlf", "manual", None, {"accsync/trigger": "manual"})
