"""The code location loads, validates, and has the shape the deployment relies on."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import build_definitions
from accsync_pipeline.service import demo


def test_definitions_load_validate_and_build_one_schedule_per_scheduled_org(
    engine: Engine, accsync_env: str
) -> None:
    with engine.begin() as conn:
        demo.seed(conn)
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert "sync_job" in repo.job_names
    schedules = {s.name: (s.cron_schedule, s.execution_timezone) for s in repo.schedule_defs}
    assert schedules == {
        "sync_hlf_schedule": ("0 2 * * *", "Europe/Oslo"),
        "sync_blindeforbundet_schedule": ("0 16 * * 5", "Europe/Oslo"),
    }
    assert {s.name for s in repo.sensor_defs} == {
        "organization_partitions_sensor",
        "approval_sensor",
        "auto_retry_sensor",
        "alert_rules_sensor",
        "sync_run_failure_sensor",
        "run_liveness_sensor",
        "schedule_reconciliation_sensor",
    }
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert keys == {"reimbursements", "honorariums"}


def test_the_code_location_still_loads_when_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCSYNC_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    assert list(defs.get_repository_def().schedule_defs) == []
