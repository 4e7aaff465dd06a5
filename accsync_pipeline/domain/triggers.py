"""Which orgs a sensor tick should sync: pure decisions over what changed and what is running."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accsync_pipeline.domain.org import OrgConfig


@dataclass(frozen=True)
class TriggerPlan:
    launch: tuple[str, ...]  # one run each, however many records changed
    waiting: tuple[str, ...]  # wanted a run but one is active: try again next tick
    ignored: tuple[str, ...]  # disabled, unknown, or not asking for sync on approval


def plan_approval_syncs(
    changed_orgs: Iterable[str],
    previously_waiting: Iterable[str],
    orgs: Mapping[str, OrgConfig],
    busy: Iterable[str],
) -> TriggerPlan:
    """A burst of approvals becomes one run per org; an org already syncing waits, never duplicates."""
    busy_set = set(busy)
    launch, waiting, ignored = [], [], []
    for org_id in sorted(set(changed_orgs) | set(previously_waiting)):
        org = orgs.get(org_id)
        if org is None or not org.enabled or not org.sync_on_approval:
            ignored.append(org_id)
        elif org_id in busy_set:
            waiting.append(org_id)
        else:
            launch.append(org_id)
    return TriggerPlan(tuple(launch), tuple(waiting), tuple(ignored))


def plan_auto_retries(
    due_orgs: Iterable[str], orgs: Mapping[str, OrgConfig], busy: Iterable[str]
) -> tuple[str, ...]:
    """Orgs with failed records whose backoff has run out; disabled and busy orgs are left for later."""
    busy_set = set(busy)
    return tuple(
        sorted(
            org_id
            for org_id in set(due_orgs)
            if org_id in orgs and orgs[org_id].enabled and org_id not in busy_set
        )
    )


# Runs one sensor tick asks for at most: a thousand orgs due at once must not flood the run
# queue in one tick, nor make one tick long enough to hold up the daemon's other sensors.
MAX_RUNS_PER_TICK = 25


def cap_launches(
    wanted: Iterable[str], carried: Iterable[str], limit: int = MAX_RUNS_PER_TICK
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(launch now, carry to the next tick): orgs carried from the last tick go first, then by name."""
    wanted_set = set(wanted)
    first = [org_id for org_id in dict.fromkeys(carried) if org_id in wanted_set]
    ordered = first + sorted(wanted_set - set(first))
    return tuple(ordered[:limit]), tuple(ordered[limit:])
