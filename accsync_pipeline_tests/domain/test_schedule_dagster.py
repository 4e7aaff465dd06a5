"""`next_runs` gives exactly the ticks Dagster's scheduler produces, across Europe/Oslo clock changes.

Two independent witnesses: the tick times Dagster computes for a loaded ScheduleDefinition over all of
2026-2027, and the scheduler daemon itself, stepped through each clock-change night with the clock
frozen, recording a tick whenever one is due.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import instance_for_test
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time, load_remote_repo
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._scheduler.scheduler import launch_scheduled_runs

from accsync_pipeline.domain.cron import next_runs
from accsync_pipeline_tests.domain.dst_schedules import CRONS, TIMEZONE

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2028, 1, 1, tzinfo=UTC)
# Nights in which the Oslo clocks change, 23:30-04:00 local, in UTC. The last one is also the last
# day of a month and a fifth Sunday. The two-year comparison covers March 2027 as well.
CLOCK_CHANGE_NIGHTS = [
    (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), datetime(2026, 3, 29, 3, 0, tzinfo=UTC)),
    (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), datetime(2026, 10, 25, 3, 0, tzinfo=UTC)),
    (datetime(2027, 10, 30, 22, 30, tzinfo=UTC), datetime(2027, 10, 31, 3, 0, tzinfo=UTC)),
]
# The daemon launches only the latest due tick of a schedule without partitions, so it must look
# more often than any two ticks; the fastest schedule here ticks every 15 minutes.
DAEMON_STEP = timedelta(minutes=10)


@pytest.fixture(scope="module")
def workspace() -> Iterator[tuple[WorkspaceProcessContext, RemoteRepository]]:
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file=str(Path(__file__).with_name("dst_schedules.py")), attribute="defs")
    )
    with (
        instance_for_test() as instance,
        create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as context,
    ):
        yield context, load_remote_repo(context, "__repository__")


def _utc(times: list[datetime]) -> list[str]:
    # Compare instants: two datetimes in one zone compare by wall time, which ignores the fold.
    return [t.astimezone(UTC).isoformat() for t in times]


@pytest.mark.parametrize("name", sorted(CRONS))
def test_next_runs_equal_dagsters_ticks_for_two_years(
    workspace: tuple[WorkspaceProcessContext, RemoteRepository], name: str
) -> None:
    remote_schedule = workspace[1].get_schedule(name)
    assert remote_schedule.execution_timezone == TIMEZONE
    ticks = []
    for tick in remote_schedule.execution_time_iterator(YEAR_START.timestamp()):
        if tick >= YEAR_END:
            break
        ticks.append(tick)
    ours = next_runs(CRONS[name], TIMEZONE, YEAR_START - timedelta(seconds=1), len(ticks))
    assert _utc(ours) == _utc(ticks)
    assert [t.isoformat() for t in ours] == [t.astimezone(ours[0].tzinfo).isoformat() for t in ticks]


def test_next_runs_equal_the_daemons_ticks_on_clock_change_nights(
    workspace: tuple[WorkspaceProcessContext, RemoteRepository],
) -> None:
    context, repository = workspace
    instance = context.instance
    logger = logging.getLogger("dst_probe")
    schedules = [repository.get_schedule(name) for name in sorted(CRONS)]
    ticked: dict[str, list[datetime]] = {name: [] for name in CRONS}
    expected: dict[str, list[datetime]] = {name: [] for name in CRONS}
    for night_start, night_end in CLOCK_CHANGE_NIGHTS:
        with freeze_time(night_start):
            for schedule in schedules:
                instance.start_schedule(schedule)
        iteration_times: dict[str, object] = {}
        now = night_start
        while now <= night_end:
            with freeze_time(now):
                list(launch_scheduled_runs(context, logger, now, iteration_times))  # type: ignore[arg-type]
            now += DAEMON_STEP
        for schedule in schedules:
            instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
            runs = [
                r
                # A schedule started at a tick's exact instant runs that tick, hence the second.
                for r in next_runs(CRONS[schedule.name], TIMEZONE, night_start - timedelta(seconds=1), 20)
                if r.astimezone(UTC) <= night_end
            ]
            expected[schedule.name] += runs
    for schedule in schedules:
        ticks = instance.get_ticks(schedule.get_remote_origin_id(), schedule.selector_id)
        ticked[schedule.name] = sorted(datetime.fromtimestamp(t.timestamp, UTC) for t in ticks)
    assert {n: _utc(t) for n, t in ticked.items()} == {n: _utc(t) for n, t in expected.items()}
    # The rules, as the daemon applies them. A daily 02:30 on the night the clocks go forward runs
    # at 03:00 CEST; on the night they go back it runs once, at the second 02:30 (CET).
    assert "2026-03-29T01:00:00+00:00" in _utc(ticked["daily_0230"])
    assert "2026-10-25T01:30:00+00:00" in _utc(ticked["daily_0230"])
    assert "2026-10-25T00:30:00+00:00" not in _utc(ticked["daily_0230"])
    # An hourly schedule has no 02:00 when the clocks go forward, and two when they go back.
    assert "2026-03-29T01:00:00+00:00" in _utc(ticked["hourly"])  # 03:00 CEST, the regular tick
    # 01:30 CET is followed by 03:30 CEST: the missing 02:30 is not moved to 03:00 as a daily one is.
    assert "2026-03-29T01:00:00+00:00" not in _utc(ticked["hourly_at_30"])
    assert {"2026-10-25T00:00:00+00:00", "2026-10-25T01:00:00+00:00"} <= set(_utc(ticked["hourly"]))
