"""The scale benchmark's scheduler worker: Dagster's scheduler daemon over every sync schedule.

Run by `bench.scale` in a fresh process, as after a daemon restart, with ACCSYNC_DATABASE_URL
and DAGSTER_HOME set: `python -m accsync_pipeline.bench.scale_scheduler ITERATIONS`. Loads the
code location as the daemon does (one schedule per cron and timezone the orgs use), then times
the daemon's own scheduler iteration (`launch_scheduled_runs`) a few times, and the evaluation
of the busiest schedule's tick through the code location, as the daemon asks for it when the tick
is due (the orgs read, one run request per org). Prints one JSON line: schedules, runs asked by
the busiest tick, seconds to load the location, seconds per iteration (the first is the cold one) and
seconds per tick evaluation.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

import dagster as dg
from dagster._core.definitions.timestamp import TimestampWithTimezone
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import CodeLocation
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._scheduler.scheduler import launch_scheduled_runs

from accsync_pipeline.defs.schedule_plan import schedule_name
from accsync_pipeline.defs.schedules import built_schedules

LOCATION = LoadableTargetOrigin(module_name="accsync_pipeline.definitions")
TICK_EVALUATIONS = 5


def busiest_tick(
    instance: dg.DagsterInstance, location: CodeLocation, repository: RemoteRepository
) -> tuple[int, list[float]]:
    """Runs asked by one tick of the schedule that serves the most orgs, and seconds per evaluation."""
    built = built_schedules()
    if not built:
        return 0, []
    (cron, timezone), _ = max(built.items(), key=lambda item: len(item[1]))
    name = schedule_name(cron, timezone)
    at = TimestampWithTimezone(datetime.now(UTC).timestamp(), timezone)
    seconds = []
    for _ in range(TICK_EVALUATIONS):
        begun = time.perf_counter()
        data = location.get_schedule_execution_data(instance, repository.handle, name, at, None)
        seconds.append(time.perf_counter() - begun)
    return len(data.run_requests or []), seconds


def main() -> None:
    iterations = int(sys.argv[1])
    logger = logging.getLogger("accsync.bench.scheduler")
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(LOCATION))
    with create_test_daemon_workspace_context(target, instance) as context:
        locations = [
            entry.code_location
            for entry in context.create_request_context().get_code_location_entries().values()
            if entry.code_location is not None
        ]
        repositories = [(loc, repo) for loc in locations for repo in loc.get_repositories().values()]
        schedules = sum(len(repo.get_schedules()) for _, repo in repositories)
        loaded = time.perf_counter() - started
        seconds = []
        iteration_times: dict[str, object] = {}
        for _ in range(iterations):
            begun = time.perf_counter()
            list(launch_scheduled_runs(context, logger, datetime.now(UTC), iteration_times))  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - begun)
        orgs, tick_seconds = busiest_tick(instance, *repositories[0])
    instance.dispose()
    figures = {
        "schedules": schedules,
        "load_seconds": loaded,
        "iteration_seconds": seconds,
        "busiest_runs": orgs,
        "tick_seconds": tick_seconds,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
