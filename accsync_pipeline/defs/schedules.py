"""One Dagster schedule per organization, built from the accsync database when the code location loads.

A schedule's tick reads the org's configuration again: an org switched to Manual, disabled,
or given another time since the last reload is skipped with a reason the Dagster UI shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dagster as dg

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.resources import shared_engine
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.schedule import ScheduleError, describe, schedule_from_spec
from accsync_pipeline.store import orgs as org_store

log = logging.getLogger(__name__)


def schedule_name(org_id: str) -> str:
    return f"sync_{org_id}_schedule"


def org_cron(org: OrgConfig) -> str | None:
    """The cron an org's schedule runs on, or None when it is manual only or invalid."""
    try:
        return schedule_from_spec(org.schedule).to_cron()
    except ScheduleError:
        return None


def tick_decision(org: OrgConfig | None, org_id: str, built_cron: str) -> dg.RunRequest | dg.SkipReason:
    """What a tick does, given the org's configuration now."""
    if org is None:
        return dg.SkipReason(f"organization {org_id} no longer exists")
    if not org.enabled:
        return dg.SkipReason(f"{org_id}'s integration is disabled")
    cron = org_cron(org)
    if cron is None:
        return dg.SkipReason(f"{org_id} is set to Manual only")
    if cron != built_cron:
        return dg.SkipReason(
            f"{org_id}'s schedule changed to '{cron}'; it takes effect when the location reloads"
        )
    return dg.RunRequest(partition_key=org_id, tags=sync_run_tags(org_id, Trigger.SCHEDULE.value))


def _evaluation(
    org_id: str, cron: str
) -> Callable[[dg.ScheduleEvaluationContext], dg.RunRequest | dg.SkipReason]:
    def evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        with shared_engine().connect() as conn:
            org = org_store.find_org(conn, org_id)
        decision = tick_decision(org, org_id, cron)
        if isinstance(decision, dg.RunRequest) and context.scheduled_execution_time is not None:
            # One run per tick, even if the daemon evaluates the tick twice.
            key = f"{org_id}@{context.scheduled_execution_time.isoformat()}"
            decision = dg.RunRequest(partition_key=org_id, tags=decision.tags, run_key=key)
        return decision

    return evaluate


def org_schedule(org: OrgConfig) -> dg.ScheduleDefinition | None:
    cron = org_cron(org)
    if cron is None or not org.enabled:
        return None
    return dg.ScheduleDefinition(
        name=schedule_name(org.org_id),
        cron_schedule=cron,
        execution_timezone=org.timezone,
        job=sync_job,
        execution_fn=_evaluation(org.org_id, cron),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{org.name}: {describe(cron, org.timezone)}",
    )


def build_org_schedules() -> list[dg.ScheduleDefinition]:
    """Schedules of every enabled org that has one. An unreadable database yields none, loudly."""
    try:
        with shared_engine().connect() as conn:
            orgs = org_store.list_orgs(conn)
    except Exception as e:  # the location must still load so that ops can see the error in the UI
        log.error("accsync: cannot read organizations for schedules: %s", type(e).__name__)
        return []
    return [s for s in (org_schedule(o) for o in orgs) if s is not None]
