"""A code location of Europe/Oslo schedules, loaded by Dagster's scheduler in the clock-change tests."""

from __future__ import annotations

from dagster import (
    Definitions,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
)

from accsync_pipeline.domain.cron import validate_cron

TIMEZONE = "Europe/Oslo"

# Presets and custom expressions whose runs are near 02:00-03:00, where the Oslo clocks change.
# Each kind of expression takes a different path through Dagster's tick computation
# (daily, weekly, monthly, hourly fast paths; croniter for the rest).
CRONS = {
    "daily_0230": "30 2 * * *",
    "daily_0200": "0 2 * * *",
    "daily_0300": "0 3 * * *",
    "hourly": "0 * * * *",
    "hourly_at_30": "30 * * * *",
    "weekly_sunday_0230": "30 2 * * 0",
    "monthly_1st_0230": "30 2 1 * *",
    "monthly_last_0230": "30 2 L * *",
    "twice_in_hour_2": "0,30 2 * * *",
    "hours_1_to_3": "15 1-3 * * *",
    "weekend_0230": "30 2 * * 6,0",
    "october_25th_0230": "30 2 25 10 *",
    "fifth_sunday_0230": "30 2 * * 0#5",
    "every_quarter_hour_at_night": "*/15 1-3 * * *",
}


@op
def _noop() -> None:
    pass


@job
def dst_probe_job() -> None:
    _noop()


def _record_tick(context: ScheduleEvaluationContext) -> SkipReason:
    # A skipped tick is still a tick with its scheduled time, without launching a run.
    return SkipReason("tick recorded")


defs = Definitions(
    jobs=[dst_probe_job],
    schedules=[
        ScheduleDefinition(
            name=name,
            cron_schedule=validate_cron(cron),
            execution_timezone=TIMEZONE,
            job=dst_probe_job,
            execution_fn=_record_tick,
        )
        for name, cron in CRONS.items()
    ],
)
