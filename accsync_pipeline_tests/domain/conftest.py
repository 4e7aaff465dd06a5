"""Each domain test starts with cron's caches empty.

`validate_cron` and `describe_cron` keep their answers per process, and `next_runs` keeps the next
runs per schedule: without this a test could pass on an answer computed before it, by other code.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accsync_pipeline.domain import cron


@pytest.fixture(autouse=True)
def cron_caches_empty() -> Iterator[None]:
    cron.validate_cron.cache_clear()
    cron.describe_cron.cache_clear()
    cron._NEXT_RUNS.clear()
    yield
