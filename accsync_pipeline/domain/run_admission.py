"""Whether a run launched through Dagster may sync, and under which tags: pure decisions over its tags.

Anything can launch the export through Dagster (the UI, GraphQL, a backfill, a
re-execution). A run must name exactly one organization that accsync knows, and its tags
must not contradict its partition; otherwise it is refused before it touches anything,
with a message that says what to do. A re-execution is a person's manual act, whatever
the original run's trigger was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import ORG_TAG, TRIGGER_TAG, USER_TAG

PARENT_RUN_TAG = "dagster/parent_run_id"
ROOT_RUN_TAG = "dagster/root_run_id"
RUN_RETRY_TAG = "dagster/retry_number"  # Dagster's automatic run retry keeps the original trigger
DAGSTER_USER_TAG = "user"  # who launched the re-execution, when Dagster knows
UNKNOWN_USER = "unknown"


@dataclass(frozen=True)
class Admitted:
    org_id: str
    trigger: str
    user_id: str | None
    tags_to_add: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    message: str


def admit(tags: Mapping[str, str], partition_key: str | None, org_exists: bool) -> Admitted | Refused:
    """Admit a run for the org its partition names, or refuse it with the reason."""
    if not partition_key:
        return Refused(
            "refused: the run names no organization partition; launch it for one organization "
            "(Sync Now, `accsync sync --org`, or materialize one partition)"
        )
    tagged = tags.get(ORG_TAG)
    if tagged is not None and tagged != partition_key:
        return Refused(
            f"refused: the run's tag {ORG_TAG}={tagged} contradicts its partition {partition_key}; "
            "launch it again with matching tags"
        )
    if not org_exists:
        return Refused(
            f"refused: {partition_key} is not an organization in accsync; add it with "
            f"`accsync org add` or pick an existing partition"
        )
    if PARENT_RUN_TAG in tags and RUN_RETRY_TAG not in tags:
        user = tags.get(DAGSTER_USER_TAG) or UNKNOWN_USER
        added = {ORG_TAG: partition_key, TRIGGER_TAG: Trigger.MANUAL.value, USER_TAG: user}
        return Admitted(partition_key, Trigger.MANUAL.value, user, added)
    trigger = tags.get(TRIGGER_TAG) or Trigger.MANUAL.value
    user_id = tags.get(USER_TAG)
    added = {k: v for k, v in ((ORG_TAG, partition_key), (TRIGGER_TAG, trigger)) if tags.get(k) != v}
    return Admitted(partition_key, trigger, user_id, added)
