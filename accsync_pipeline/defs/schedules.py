"""One Dagster schedule per organization, built from the accsync database when the code location loads.

A schedule's tick reads the org's configuration again: an org switched to Manual, disabled,
or given another time since the last reload is skipped with a reason the Dagster UI shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.resources import shared_engine
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.domain.schedule import InvalidSchedule, ScheduleView, view_schedule
from accsync_pipeline.store import orgs as org_store

log = logging.getLogger(__name__)


def schedule_name(org_id: str) -> str:
    return f"sync_{org_id}_schedule"


def _view(org: OrgConfig) -> ScheduleView:
    """The org's schedule as Dagster would run it; no cron when manual only, invalid, or in a bad timezone."""
    return view_schedule(org.schedule, org.timezone, datetime.now(UTC), 0)


def tick_decision(org: OrgConfig | None, org_id: str, built_cron: str) -> dg.RunRequest | dg.SkipReason:
    """What a tick does, given the org's configuration now."""
    if org is None:
        return dg.SkipReason(f"organization {org_id} no longer exists")
    if not org.enabled:
        return dg.SkipReason(f"{org_id}'s integration is disabled")
    if isinstance(org.schedule, InvalidSchedule):
        return dg.SkipReason(f"{org_id}'s stored schedule is invalid: {org.schedule.problem}")
    cron = org.schedule.to_cron()
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
    view = _view(org)
    if view.cron is None or not org.enabled:
        return None
    return dg.ScheduleDefinition(
        name=schedule_name(org.org_id),
        cron_schedule=view.cron,
        execution_timezone=org.timezone,
        job=sync_job,
        execution_fn=_evaluation(org.org_id, view.cron),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{org.name}: {view.description}",
    )


def _safe_schedule(org: OrgConfig) -> dg.ScheduleDefinition | None:
    """One org's schedule; a stored row Dagster cannot use costs that org its schedule, never the others'."""
    try:
        return org_schedule(org)
    except Exception as e:
        log.error("accsync: schedule of %s not built: %s", org.org_id, type(e).__name__)
        return None


# What this load of the code location built: org → (cron, timezone). The reconciliation sensor
# compares it with the database, so that a reload lost after a save (the admin service died,
# Dagster was down) is made up within a minute instead of never.
_built: dict[str, tuple[str, str]] = {}


def desired_schedules(orgs: list[OrgConfig]) -> dict[str, tuple[str, str]]:
    """org → (cron, timezone) of every org that should have a Dagster schedule now."""
    wanted: dict[str, tuple[str, str]] = {}
    for org in orgs:
        cron = _view(org).cron if org.enabled else None
        if cron is not None:
            wanted[org.org_id] = (cron, org.timezone)
    return wanted


def schedule_drift(built: dict[str, tuple[str, str]], wanted: dict[str, tuple[str, str]]) -> list[str]:
    """Orgs whose Dagster schedule differs from the database, in words; empty when they agree."""
    drift = []
    for org_id in sorted(built.keys() | wanted.keys()):
        have, want = built.get(org_id), wanted.get(org_id)
        if have == want:
            continue
        if want is None:
            drift.append(f"{org_id}: Dagster has a schedule the database no longer has")
        elif have is None:
            drift.append(f"{org_id}: the database has a schedule Dagster does not ({want[0]}, {want[1]})")
        else:
            drift.append(
                f"{org_id}: Dagster runs {have[0]} ({have[1]}), the database says {want[0]} ({want[1]})"
            )
    return drift


def build_org_schedules() -> list[dg.ScheduleDefinition]:
    """Schedules of every enabled org that has one. An unreadable database yields none, loudly."""
    try:
        with shared_engine().connect() as conn:
            orgs = org_store.list_orgs(conn)
    except Exception as e:  # the location must still load so that ops can see the error in the UI
        log.error("accsync: cannot read organizations for schedules: %s", type(e).__name__)
        return []
    schedules = [s for s in (_safe_schedule(o) for o in orgs) if s is not None]
    built = {s.name: s for s in schedules}
    _built.clear()
    _built.update(
        {org_id: spec for org_id, spec in desired_schedules(orgs).items() if schedule_name(org_id) in built}
    )
    return schedules


def _reload_location() -> str:
    """Reload this code location through the webserver, when one is known; what happened, in words."""
    from accsync_pipeline.service.dagster_gateway import DAGSTER_URL_ENV, dagster_url
    from accsync_pipeline.service.dagster_graphql import DagsterGraphQL

    url = dagster_url()
    if not url:
        return f"set {DAGSTER_URL_ENV} so that this sensor can reload the code location"
    dagster = DagsterGraphQL(url)
    try:
        dagster.reload_location()
    finally:
        dagster.close()
    return "code location reloaded"


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 60 s: compares the per-org schedules this code location loaded with those stored in "
        "accsync, and reloads the location when they differ (a schedule edited elsewhere)."
    ),
)
def schedule_reconciliation_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Keeps Dagster's per-org schedules equal to the database: reloads the location when they differ."""
    with shared_engine().connect() as conn:
        orgs = org_store.list_orgs(conn)
    drift = schedule_drift(_built, desired_schedules(orgs))
    if not drift:
        return dg.SkipReason(f"{len(_built)} org schedules match the database")
    context.log.warning("schedules differ from the database: " + "; ".join(drift))
    try:
        outcome = _reload_location()
    except Exception as e:  # Dagster busy or down: the next tick tries again
        outcome = f"reload failed ({type(e).__name__}); trying again on the next tick"
    return dg.SkipReason(f"{'; '.join(drift)}: {outcome}")
