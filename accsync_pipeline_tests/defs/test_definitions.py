"""The code location loads, validates, and has the shape the deployment relies on."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy.engine import Engine

from accsync_pipeline.definitions import build_definitions
from accsync_pipeline.service import demo


def test_definitions_load_validate_and_build_one_schedule_per_cron_the_orgs_use(
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
        "sync_daily_0200_europe_oslo": ("0 2 * * *", "Europe/Oslo"),
        "sync_weekly_fri_1600_europe_oslo": ("0 16 * * 5", "Europe/Oslo"),
        "ledger_checks_daily": ("30 5 * * *", "Europe/Oslo"),
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
    assert keys == {
        "approved_records",
        "reimbursements",
        "honorariums",
        "xledger_ledger",
        "business_central_ledger",
    }


def test_lineage_checks_and_words_an_ops_engineer_reads_in_the_dagster_ui(
    engine: Engine, accsync_env: str
) -> None:
    with engine.begin() as conn:
        demo.seed(conn)
    defs = build_definitions()
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    source, ledgers = dg.AssetKey("approved_records"), {"xledger_ledger", "business_central_ledger"}
    for name in ("reimbursements", "honorariums"):
        node = graph.get(dg.AssetKey(name))
        assert node.parent_keys == {source}
        assert {k.to_user_string() for k in node.child_keys} == ledgers
        assert node.owners == ["team:accsync"] and node.kinds == {"python", "sql"}
        assert node.partitions_def is not None and node.partitions_def.name == "organization"
        checks = {k.name for k in node.check_keys}
        assert checks == {"failed_records", "stuck_in_flight", "oldest_pending", "ledger_reconciliation"}
    assert graph.get(source).is_observable
    assert graph.get(dg.AssetKey("xledger_ledger")).kinds == {"xledger"}
    assert graph.get(dg.AssetKey("business_central_ledger")).kinds == {"dynamics365"}
    # Every check is partitioned like its asset: the UI shows one status per org.
    for spec in repo.assets_defs_by_key[dg.AssetKey("reimbursements")].check_specs:
        assert spec.partitions_def is not None and spec.description
    # The sync job runs the checks with every sync.
    sync_checks = defs.resolve_job_def("sync_job").asset_layer.asset_graph.asset_check_keys
    assert len(sync_checks) == 8
    assert {j for j in repo.job_names if not j.startswith("__")} == {"sync_job", "ledger_checks_job"}
    assert "ledger_checks_daily" in {s.name for s in repo.schedule_defs}
    undescribed = [
        d.name
        for d in [*repo.sensor_defs, *repo.schedule_defs, *(repo.get_job(j) for j in repo.job_names)]
        if not d.name.startswith("__") and not d.description
    ]
    assert undescribed == []


def test_the_code_location_still_loads_when_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCSYNC_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    assert [s.name for s in defs.get_repository_def().schedule_defs] == ["ledger_checks_daily"]
