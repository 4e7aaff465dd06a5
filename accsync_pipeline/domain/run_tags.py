"""Tags every sync run carries, whatever launched it: they make Dagster's run history the sync log."""

from __future__ import annotations

ORG_TAG = "accsync/org"
TRIGGER_TAG = "accsync/trigger"
USER_TAG = "accsync/user"
PARTITION_TAG = "dagster/partition"
# How a person launched the run when it was not a screen: "cli" for `accsync sync`.
VIA_TAG = "accsync/via"
VIA_CLI = "cli"
# Set to "true" on a run refused before it touched anything (no partition, unknown org, ...).
REFUSED_TAG = "accsync/refused"


def sync_run_tags(
    org_id: str, trigger: str, user_id: str | None = None, via: str | None = None
) -> dict[str, str]:
    tags = {ORG_TAG: org_id, TRIGGER_TAG: trigger, PARTITION_TAG: org_id}
    if user_id:
        tags[USER_TAG] = user_id
    if via:
        tags[VIA_TAG] = via
    return tags
