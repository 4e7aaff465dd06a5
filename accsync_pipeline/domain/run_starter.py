"""What started a sync run, in words, from the tags it carries: the sync log names every starter.

Pure: the tags of a Dagster run (accsync's own and Dagster's) and the names of accsync's
users in, one phrase out, e.g. "Sync Now by Kari Nordmann", "Command line (ops)",
"Schedule", "Approval sensor", "Re-execution in the Dagster UI".
"""

from __future__ import annotations

from collections.abc import Mapping

from accsync_pipeline.domain.run_admission import PARENT_RUN_TAG, RUN_RETRY_TAG, UNKNOWN_USER
from accsync_pipeline.domain.run_tags import TRIGGER_TAG, USER_TAG, VIA_CLI, VIA_TAG

BACKFILL_TAG = "dagster/backfill"
SCHEDULE_NAME_TAG = "dagster/schedule_name"
SENSOR_NAME_TAG = "dagster/sensor_name"


def started_by(tags: Mapping[str, str], user_names: Mapping[str, str] | None = None) -> str:
    """Who or what started the run, as the sync log says it."""
    names = user_names or {}
    trigger = tags.get(TRIGGER_TAG)
    user_id = tags.get(USER_TAG)
    person = names.get(user_id, user_id) if user_id and user_id != UNKNOWN_USER else None
    by = f" by {person}" if person else ""
    if tags.get(RUN_RETRY_TAG):
        return f"Dagster's automatic run retry (attempt {tags[RUN_RETRY_TAG]})"
    if trigger == "schedule":
        return "Schedule"
    if trigger == "approval":
        return "Approval sensor"
    if trigger == "auto_retry":
        return "Automatic retry (retry sensor)"
    if trigger == "retry":
        return f"Retry of failed records{by}"
    if PARENT_RUN_TAG in tags:
        return f"Re-execution in the Dagster UI{by}"
    if BACKFILL_TAG in tags:
        return "Backfill in the Dagster UI"
    if SCHEDULE_NAME_TAG in tags:
        return "Schedule"
    if SENSOR_NAME_TAG in tags:
        return f"Sensor {tags[SENSOR_NAME_TAG]}"
    if tags.get(VIA_TAG) == VIA_CLI:
        return f"Command line{by}"
    if trigger == "manual" and person:
        return f"Sync Now{by}"
    # A partition materialized in the Dagster UI carries no accsync tags until the run admits it.
    return "Dagster UI"
