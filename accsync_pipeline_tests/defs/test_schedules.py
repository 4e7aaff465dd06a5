"""One Dagster schedule per (cron, timezone): each tick launches the orgs on that cron now, one run each."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._scheduler.scheduler import launch_scheduled_runs
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import build_definitions
from accsync_pipeline.defs.schedule_plan import plan_tick, schedule_name
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.schedule import stored_schedule
from accsync_pipeline.service.org_config import update_sync_settings
from accsync_pipeline.store.schema import organizations
from accsync_pipeline_tests.factories import add_org_with_admin, sandbox_org

OSLO_0200 = schedule_name("0 2 * * *", "Europe/Oslo")
OSLO_0300 = schedule_name("0 3 * * *", "Europe/Oslo")
# 02:00 in Oslo on a winter day (UTC+1).
TICK_0200 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
QUEUED_ONLY = {
    "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
}


def add_orgs(engine: Engine) -> None:
    """alpha and beta at 02:00, gamma at 03:00; off (disabled), by_hand (manual) and broken never run."""
    daily = {"kind": "daily", "time": "02:00"}
    with engine.begin() as conn:
        for org_id, spec, enabled in (
            ("alpha", daily, True),
            ("beta", daily, True),
            ("gamma", {"kind": "daily", "time": "03:00"}, True),
            ("off", daily, False),
            ("by_hand", {"kind": "manual"}, True),
            ("broken", daily, True),
        ):
            org = sandbox_org(org_id, "dynamics", {}, schedule=stored_schedule(spec), enabled=enabled)
            add_org_with_admin(conn, org)
        # A stored spec that no longer parses, as an edit outside accsync could leave it.
        conn.execute(
            organizations.update()
            .where(organizations.c.org_id == "broken")
            .values(schedule={"kind": "daily", "time": "25:00"})
        )


def test_names_say_when_and_where_and_never_repeat() -> None:
    assert OSLO_0200 == "sync_daily_0200_europe_oslo"
    assert schedule_name("30 16 * * 5", "Europe/Oslo") == "sync_weekly_fri_1630_europe_oslo"
    assert schedule_name("0 6 L * *", "America/New_York") == "sync_monthly_lastday_0600_america_new_york"
    assert schedule_name("0 6 15 * *", "UTC") == "sync_monthly_day15_0600_utc"
    custom = [schedule_name(c, "Etc/GMT-1") for c in ("*/15 8-16 * * 1-5", "0 0 * * 1#2", "0,30 1 * * *")]
    assert custom[0] == "sync_cron_xevery15_8to16_x_x_1to5_etc_gmt_minus_1"
    assert len(set(custom)) == 3
    assert schedule_name("0 2 * * *", "Etc/GMT+1") != schedule_name("0 2 * * *", "Etc/GMT-1")


def test_the_code_location_has_one_schedule_per_cron_with_its_orgs_in_words(
    engine: Engine, accsync_env: str
) -> None:
    add_orgs(engine)
    repo = build_definitions().get_repository_def()
    syncs = {s.name: s for s in repo.schedule_defs if s.name.startswith("sync_")}
    assert sorted(syncs) == [OSLO_0200, OSLO_0300]
    assert (syncs[OSLO_0200].cron_schedule, syncs[OSLO_0200].execution_timezone) == (
        "0 2 * * *",
        "Europe/Oslo",
    )
    description = syncs[OSLO_0200].description or ""
    assert "At 02:00, every day (Europe/Oslo)" in description
    assert "ALPHA (alpha), BETA (beta)." in description and "gamma" not in description


def evaluate(instance: dg.DagsterInstance, name: str, at: datetime) -> tuple[list[dg.RunRequest], str | None]:
    repo = build_definitions().get_repository_def()
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at, repository_def=repo)
    data = repo.get_schedule_def(name).evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message


def test_two_orgs_on_one_cron_are_launched_by_its_tick_with_their_own_tags(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    add_orgs(engine)
    requests, skipped = evaluate(dagster_instance, OSLO_0200, TICK_0200)
    assert skipped is None
    assert [r.partition_key for r in requests] == ["alpha", "beta"]
    for request in requests:
        org_id = request.partition_key
        assert request.tags["accsync/org"] == org_id and request.tags["accsync/trigger"] == "schedule"
        assert request.tags["dagster/partition"] == org_id
        assert request.tags["dagster/schedule_name"] == OSLO_0200
        assert request.run_key == f"{org_id}@{TICK_0200.isoformat()}"
    # Dagster refuses a run for a partition it does not know: the tick made them known.
    assert {"alpha", "beta"} <= set(dagster_instance.get_dynamic_partitions("organization"))
    again, _ = evaluate(dagster_instance, OSLO_0200, TICK_0200)
    later, _ = evaluate(dagster_instance, OSLO_0200, TICK_0200 + timedelta(days=1))
    assert [r.run_key for r in again] == [r.run_key for r in requests]
    assert not {r.run_key for r in later} & {r.run_key for r in requests}


def test_a_tick_with_no_org_due_skips_and_names_who_left_and_why(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance
) -> None:
    add_orgs(engine)
    repo = build_definitions().get_repository_def()  # loaded while alpha and beta are at 02:00
    with engine.begin() as conn:
        update_sync_settings(conn, "alpha", schedule_spec={"kind": "daily", "time": "03:00"})
        update_sync_settings(conn, "beta", schedule_spec={"kind": "manual"})
    context = dg.build_schedule_context(
        instance=dagster_instance, scheduled_execution_time=TICK_0200, repository_def=repo
    )
    data = repo.get_schedule_def(OSLO_0200).evaluate_tick(context)
    assert not data.run_requests
    assert data.skip_message == (
        "no organization runs on this schedule now; alpha now runs on sync_daily_0300_europe_oslo; "
        "beta is set to Manual only; broken's stored schedule is invalid: "
        "time: '25:00' is not a 24-hour time HH:MM (00:00-23:59)"
    )


def test_a_bad_stored_schedule_costs_only_its_org_and_the_reason_is_given() -> None:
    def org(org_id: str, spec: Mapping[str, object], **overrides: Any) -> OrgConfig:
        return sandbox_org(org_id, "dynamics", {}, schedule=stored_schedule(spec), **overrides)

    daily = {"kind": "daily", "time": "02:00"}
    orgs = [
        org("alpha", daily),
        org("broken", {"kind": "weekly", "weekday": "someday", "time": "02:00"}),
        org("by_hand", {"kind": "manual"}),
        org("off", daily, enabled=False),
        org("zone", daily, timezone="localtime"),
    ]
    plan = plan_tick(orgs, ("0 2 * * *", "Europe/Oslo"), served_at_load={"alpha", "off", "gone"})
    assert plan.due == ("alpha",)
    broken, off, zone, gone = plan.skipped  # by_hand was never on this schedule: nothing to say
    assert broken.startswith("broken's stored schedule is invalid: weekday: 'someday'")
    assert off == "off's integration is disabled"
    assert zone.startswith("zone's stored schedule is invalid: ") and "localtime" in zone
    assert gone == "organization gone no longer exists"


@pytest.fixture
def daemon(engine: Engine, accsync_env: str) -> Iterator[WorkspaceProcessContext]:
    """The scheduler daemon's workspace over the real code location; runs only queue, none executes."""
    add_orgs(engine)
    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="accsync_pipeline.definitions"))
    with (
        dg.instance_for_test(overrides=QUEUED_ONLY) as instance,
        freeze_time(TICK_0200 - timedelta(minutes=30)),
        create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as context,
    ):
        yield context


def iterate(context: WorkspaceProcessContext, at: datetime, **options: object) -> None:
    with freeze_time(at):
        logger = logging.getLogger("accsync.test.scheduler")
        list(launch_scheduled_runs(context, logger, at, {}, **options))  # type: ignore[arg-type]


def scheduled_runs(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    runs = instance.get_runs(dg.RunsFilter(tags={"accsync/trigger": "schedule"}))
    return sorted((r.tags["dagster/schedule_name"], r.tags["accsync/org"]) for r in runs)


def test_the_daemon_follows_an_org_to_its_new_cron_without_a_reload(
    daemon: WorkspaceProcessContext, engine: Engine
) -> None:
    iterate(daemon, TICK_0200 - timedelta(minutes=30))  # the schedules start
    with engine.begin() as conn:
        update_sync_settings(conn, "beta", schedule_spec={"kind": "daily", "time": "03:00"})
    iterate(daemon, TICK_0200 + timedelta(minutes=1))
    assert scheduled_runs(daemon.instance) == [(OSLO_0200, "alpha")]
    iterate(daemon, TICK_0200 + timedelta(hours=1, minutes=1))
    # off (disabled, 02:00), by_hand (manual) and broken (unparseable) got no run from either tick.
    expected = [(OSLO_0200, "alpha"), (OSLO_0300, "beta"), (OSLO_0300, "gamma")]
    assert scheduled_runs(daemon.instance) == expected
    run = daemon.instance.get_runs(dg.RunsFilter(tags={"accsync/org": "beta"}))[0]
    assert run.tags["dagster/partition"] == "beta" and run.status == dg.DagsterRunStatus.QUEUED


def test_a_tick_the_daemon_evaluates_twice_launches_each_org_once(
    daemon: WorkspaceProcessContext,
) -> None:
    iterate(daemon, TICK_0200 - timedelta(minutes=30))
    # The daemon dies after launching the tick's first run; the retry evaluates the same tick again.
    crash = {OSLO_0200: {"RUN_LAUNCHED": Exception("daemon stopped mid-tick")}}
    iterate(daemon, TICK_0200 + timedelta(minutes=1), debug_crash_flags=crash)
    assert scheduled_runs(daemon.instance) == [(OSLO_0200, "alpha")]
    iterate(daemon, TICK_0200 + timedelta(minutes=2), max_tick_retries=1)
    assert scheduled_runs(daemon.instance) == [(OSLO_0200, "alpha"), (OSLO_0200, "beta")]
    assert len(daemon.instance.get_runs(dg.RunsFilter(tags={"accsync/org": "alpha"}))) == 1
