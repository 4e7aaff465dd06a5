"""Every sync run carries its org, trigger and partition; who launched it and how only when known."""

from __future__ import annotations

import pytest

from accsync_pipeline.domain.run_tags import sync_run_tags


@pytest.mark.parametrize(
    ("user_id", "via", "extra"),
    [
        (None, None, {}),
        ("", "", {}),
        ("u-17", None, {"accsync/user": "u-17"}),
        (None, "cli", {"accsync/via": "cli"}),
        ("u-17", "cli", {"accsync/user": "u-17", "accsync/via": "cli"}),
    ],
)
def test_sync_run_tags(user_id: str | None, via: str | None, extra: dict[str, str]) -> None:
    assert sync_run_tags("hlf", "manual", user_id, via) == {
        "accsync/org": "hlf",
        "accsync/trigger": "manual",
        "dagster/partition": "hlf",
        **extra,
    }
