"""The scale benchmark's export worker: one sync of N new records through the real pipeline.

Run by `bench.scale` in its own process (so that its peak RSS is its own), with
ACCSYNC_DATABASE_URL and DAGSTER_HOME set: `python -m accsync_pipeline.bench.scale_export SETTINGS N`.
Prints one JSON line: seconds, success, seconds spent in `write_results`, flushes, peak RSS.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.bench.scale_data import EXPORT_ORG
from accsync_pipeline.connectors.settings import parse_settings
from accsync_pipeline.domain.org import ConnectorType, OrgConfig
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store import bench_data
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.engine import create_engine


def prepare(engine: Engine, settings: dict[str, Any], count: int, now: datetime) -> None:
    """A fresh org with `count` approved records that no sync has taken in yet."""
    with engine.begin() as conn:
        if org_store.find_org(conn, EXPORT_ORG) is None:
            org = OrgConfig(org_id=EXPORT_ORG, name="Export bench", connector_type=ConnectorType.DYNAMICS,
                            connector_settings=parse_settings(ConnectorType.DYNAMICS, settings))  # fmt: skip
            org_store.insert_org(conn, org, now)
        else:
            org = org_store.get_org(conn, EXPORT_ORG)
            typed = parse_settings(ConnectorType.DYNAMICS, settings)
            org_store.update_org(conn, dataclasses.replace(org, connector_settings=typed), now)
        bench_data.replace_source_rows(conn, EXPORT_ORG, count, now)


def main() -> None:
    settings, count = json.loads(sys.argv[1]), int(sys.argv[2])
    engine = create_engine()
    prepare(engine, settings, count, datetime.now(UTC))
    from accsync_pipeline.definitions import run_definitions
    from accsync_pipeline.service.in_process import run_sync

    run_definitions()  # built before the clock starts

    writes = {"seconds": 0.0, "flushes": 0}
    write_results = record_store.write_results

    def timed_write(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        write_results(*args, **kwargs)
        writes["seconds"] += time.perf_counter() - started
        writes["flushes"] += 1

    record_store.write_results = timed_write
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    _, success = run_sync(instance, SyncRequest(EXPORT_ORG, Trigger.MANUAL.value), engine)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "success": success, "write_seconds": writes["seconds"],
                      "flushes": writes["flushes"], "peak_rss_mib": peak_mib}))  # fmt: skip


if __name__ == "__main__":
    main()
