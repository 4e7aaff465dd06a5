"""What an organization's sync schedule is and when it runs next, as the CLI and the editor show it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.schedule import view_schedule

NEXT_RUN_COUNT = 5


@dataclass(frozen=True)
class ScheduleOverview:
    org_id: str
    enabled: bool
    kind: str
    spec: dict[str, Any]
    cron: str | None
    description: str
    timezone: str
    # Empty when the schedule is manual, invalid, or the integration is disabled: no run will happen.
    next_runs: tuple[datetime, ...]
    record_types: tuple[str, ...]
    sync_on_approval: bool
    max_retries: int
    retry_delay_seconds: int
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["next_runs"] = [run.isoformat() for run in self.next_runs]
        data["next_runs_utc"] = [run.astimezone(UTC).isoformat() for run in self.next_runs]
        data["record_types"] = list(self.record_types)
        return data


def schedule_overview(org: OrgConfig, after: datetime, count: int = NEXT_RUN_COUNT) -> ScheduleOverview:
    """The org's schedule in words and its next runs after `after`, in the org's timezone."""
    # A disabled integration does not run: no next runs. An invalid schedule builds no Dagster
    # schedule either, and its owner is told why (`problem`).
    view = view_schedule(org.schedule, org.timezone, after, count if org.enabled else 0)
    description = view.description
    if view.valid and not org.enabled:
        description += "; the integration is disabled, so it does not run"
    return ScheduleOverview(
        org_id=org.org_id,
        enabled=org.enabled,
        kind=view.kind,
        spec=org.schedule.to_spec(),
        cron=view.cron,
        description=description,
        timezone=org.timezone,
        next_runs=view.next_runs,
        record_types=org.record_types,
        sync_on_approval=org.sync_on_approval,
        max_retries=org.retry.max_retries,
        retry_delay_seconds=org.retry.base_delay_seconds,
        problem=view.problem,
    )
