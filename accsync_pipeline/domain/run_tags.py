"""Tags every sync run carries, whatever launched it: they make Dagster's run history the sync log."""

from __future__ import annotations

ORG_TAG = "accsync/org"
TRIGGER_TAG = "accsync/trigger"
USER_TAG = "accsync/user"
PARTITION_TAG = "dagster/partition"
# Set to "true" on a run refused before it touched anything (no partition, unknown org, ...).
REFUSED_TAG = "accsync/refused"


def sync_run_tags(org_id: str, trigger: str, user_id: str | None = None) -> dict[str, str]:
    tags = {ORG_TAG: org_id, TRIGGER_TAG: trigger, PARTITION_TAG: org_id}
    if user_id:
        tags[USER_TAG] = user_id
    return tags
