"""One Dagster schedule per distinct (cron, timezone) the orgs use, built when the code location loads.

A schedule's tick reads the organizations again and asks for one run per enabled org whose
cron and timezone are its own *now*: an org moved from one cron to another that some org
already uses needs no reload, and one switched to Manual or disabled is skipped. Only a cron
no schedule has yet, or one no org uses any more, changes the set of schedules; the
reconciliation sensor reloads the location then. The daemon stores state and evaluates ticks
per schedule, so a thousand orgs on a few dozen times cost a few dozen schedules, not a thousand.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

from accsync_pipeline.defs.jobs import sync_job
from accsync_pipeline.defs.partitions import ORG_PARTITIONS
from accsync_pipeline.defs.resources import shared_engine
from accsync_pipeline.defs.schedule_plan import (
    ScheduleKey,
    desired_schedules,
    org_schedule_view,
    plan_tick,
    schedule_drift,
    schedule_name,
)
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import sync_run_tags
from accsync_pipeline.store import orgs as org_store

log = logging.getLogger(__name__)

_NAMED_ORGS = 20  # a description is read in the UI: past this, the orgs are counted, not named


def _register_partitions(context: dg.ScheduleEvaluationContext, org_ids: Sequence[str]) -> None:
    """Dagster refuses a whole tick whose run names an unknown partition: an org added since the
    partitions sensor last ran would cost every org on its cron their runs. Add the missing ones."""
    if context.instance_ref is None:
        return
    known = set(context.instance.get_dynamic_partitions(ORG_PARTITIONS))
    missing = [o for o in org_ids if o not in known]
    if missing:
        context.instance.add_dynamic_partitions(ORG_PARTITIONS, missing)


def _evaluation(
    key: ScheduleKey, served_at_load: Collection[str]
) -> Callable[[dg.ScheduleEvaluationContext], Iterator[dg.RunRequest | dg.SkipReason]]:
    def evaluate(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
        with shared_engine().connect() as conn:
            orgs = org_store.list_orgs(conn)
        plan = plan_tick(orgs, key, served_at_load)
        if not plan.due:
            yield dg.SkipReason("; ".join(["no organization runs on this schedule now", *plan.skipped]))
            return
        for reason in plan.skipped:
            context.log.warning(f"not launched: {reason}")
        _register_partitions(context, plan.due)
        tick = context.scheduled_execution_time or datetime.now(UTC)
        for org_id in plan.due:
            # One run per org and tick, even if the daemon evaluates the tick twice.
            yield dg.RunRequest(
                partition_key=org_id,
                tags=sync_run_tags(org_id, Trigger.SCHEDULE.value),
                run_key=f"{org_id}@{tick.isoformat()}",
            )

    return evaluate


def _description(key: ScheduleKey, org_ids: Sequence[str], orgs: Mapping[str, OrgConfig]) -> str:
    cron, timezone = key
    names = ", ".join(f"{orgs[o].name} ({o})" for o in org_ids[:_NAMED_ORGS])
    more = f" and {len(org_ids) - _NAMED_ORGS} more" if len(org_ids) > _NAMED_ORGS else ""
    words = org_schedule_view(orgs[org_ids[0]]).description
    return (
        f"{words}: syncs every enabled organization whose schedule is '{cron}' in {timezone}, "
        f"read at each tick. When the location loaded ({len(org_ids)}): {names}{more}."
    )


def key_schedule(
    key: ScheduleKey, org_ids: Sequence[str], orgs: Mapping[str, OrgConfig], name: str | None = None
) -> dg.ScheduleDefinition:
    cron, timezone = key
    return dg.ScheduleDefinition(
        name=name or schedule_name(cron, timezone),
        cron_schedule=cron,
        execution_timezone=timezone,
        job=sync_job,
        execution_fn=_evaluation(key, frozenset(org_ids)),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=_description(key, org_ids, orgs),
    )


def _unique_names(keys: Sequence[ScheduleKey]) -> dict[ScheduleKey, str]:
    """Each key's name; zones that read alike once lower-cased get a digest (a duplicate fails the load)."""
    names: dict[ScheduleKey, str] = {}
    for key in keys:
        name = schedule_name(*key)
        if name in names.values():
            name = f"{name}_{hashlib.sha256(' '.join(key).encode()).hexdigest()[:8]}"
        names[key] = name
    return names


def _safe_schedule(
    key: ScheduleKey, org_ids: Sequence[str], orgs: Mapping[str, OrgConfig], name: str
) -> dg.ScheduleDefinition | None:
    """One cron's schedule; one Dagster cannot build costs the orgs on that cron, never the others."""
    try:
        return key_schedule(key, org_ids, orgs, name)
    except Exception as e:
        log.error("accsync: schedule for '%s' (%s) not built: %s", key[0], key[1], type(e).__name__)
        return None


# What this load of the code location built. The reconciliation sensor compares it with the
# database, so that a new cron saved while the reload was lost (the admin service died,
# Dagster was down) gets its schedule within a minute instead of never.
_built: dict[ScheduleKey, tuple[str, ...]] = {}


def built_schedules() -> dict[ScheduleKey, tuple[str, ...]]:
    """(cron, timezone) → the orgs it served, for each schedule the last load of the location built."""
    return dict(_built)


def build_org_schedules() -> list[dg.ScheduleDefinition]:
    """One schedule per (cron, timezone) of the enabled orgs. An unreadable database yields none, loudly."""
    try:
        with shared_engine().connect() as conn:
            orgs = org_store.list_orgs(conn)
    except Exception as e:  # the location must still load so that ops can see the error in the UI
        log.error("accsync: cannot read organizations for schedules: %s", type(e).__name__)
        return []
    by_id = {org.org_id: org for org in orgs}
    wanted = desired_schedules(orgs)
    names = _unique_names(list(wanted))
    built = {key: _safe_schedule(key, org_ids, by_id, names[key]) for key, org_ids in wanted.items()}
    _built.clear()
    _built.update({key: wanted[key] for key, schedule in built.items() if schedule is not None})
    return [schedule for schedule in built.values() if schedule is not None]


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
        "Every 60 s: compares the sync schedules this code location loaded (one per cron and "
        "timezone) with the crons the organizations use in accsync, and reloads the location "
        "when a cron has no schedule or a schedule serves no organization."
    ),
)
def schedule_reconciliation_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Keeps Dagster's set of sync schedules equal to the crons in the database: reloads when they differ."""
    with shared_engine().connect() as conn:
        orgs = org_store.list_orgs(conn)
    drift = schedule_drift(_built, desired_schedules(orgs))
    if not drift:
        return dg.SkipReason(f"{len(_built)} sync schedules cover every scheduled organization")
    context.log.warning("schedules differ from the database: " + "; ".join(drift))
    try:
        outcome = _reload_location()
    except Exception as e:  # Dagster busy or down: the next tick tries again
        outcome = f"reload failed ({type(e).__name__}); trying again on the next tick"
    return dg.SkipReason(f"{'; '.join(drift)}: {outcome}")
