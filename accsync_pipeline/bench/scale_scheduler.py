"""The scale benchmark's scheduler worker: Dagster's scheduler daemon over every org's schedule.

Run by `bench.scale` in a fresh process, as after a daemon restart, with ACCSYNC_DATABASE_URL
and DAGSTER_HOME set: `python -m accsync_pipeline.bench.scale_scheduler ITERATIONS`. Loads the
code location as the daemon does (which builds one schedule per org), then times the daemon's
own scheduler iteration (`launch_scheduled_runs`) a few times. Prints one JSON line: schedules,
seconds to load the location, and seconds per iteration (the first is the cold one).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._scheduler.scheduler import launch_scheduled_runs

LOCATION = LoadableTargetOrigin(module_name="accsync_pipeline.definitions")


def main() -> None:
    iterations = int(sys.argv[1])
    logger = logging.getLogger("accsync.bench.scheduler")
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(LOCATION))
    with create_test_daemon_workspace_context(target, instance) as context:
        repositories = [
            repo
            for entry in context.create_request_context().get_code_location_entries().values()
            if entry.code_location is not None
            for repo in entry.code_location.get_repositories().values()
        ]
        schedules = sum(len(repo.get_schedules()) for repo in repositories)
        loaded = time.perf_counter() - started
        seconds = []
        iteration_times: dict[str, object] = {}
        for _ in range(iterations):
            begun = time.perf_counter()
            list(launch_scheduled_runs(context, logger, datetime.now(UTC), iteration_times))  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - begun)
    instance.dispose()
    print(json.dumps({"schedules": schedules, "load_seconds": loaded, "iteration_seconds": seconds}))


if __name__ == "__main__":
    main()
