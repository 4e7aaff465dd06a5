"""The instance configs `accsync run` and the local production shape use pass Dagster's own schema,
and keep the run queue and the sensor daemon tuned for latency (make bench-latency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import QueuedRunCoordinator
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config_schema

from accsync_pipeline.defs.sensors.approvals import approval_sensor
from accsync_pipeline.service.dagster_home import REPO_ROOT

CONFIGS = [REPO_ROOT / "dagster.yaml", REPO_ROOT / "deploy" / "dagster.postgres.yaml"]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_the_instance_config_passes_dagsters_schema(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCSYNC_DAGSTER_POSTGRES_URL", "postgresql://dagster@db.example/dagster")
    config = load(path)
    result = process_config(dagster_instance_config_schema(), config)
    assert result.success, result.errors
    # The instance schema leaves the coordinator's own config to the coordinator's schema.
    coordinator = config["run_coordinator"]
    assert (coordinator["module"], coordinator["class"]) == (
        "dagster.core.run_coordinator",
        "QueuedRunCoordinator",
    )
    result = process_config(QueuedRunCoordinator.config_type(), coordinator["config"])
    assert result.success, result.errors


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_misspelt_queue_and_sensor_settings_are_refused(path: Path) -> None:
    config = load(path)
    queue = dict(config["run_coordinator"]["config"])
    queue["dequeue_interval_second"] = queue.pop("dequeue_interval_seconds")
    assert not process_config(QueuedRunCoordinator.config_type(), queue).success
    config["sensors"]["num_worker"] = config["sensors"].pop("num_workers")
    assert not process_config(dagster_instance_config_schema(), config).success


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_queued_runs_and_approvals_are_picked_up_within_seconds(path: Path) -> None:
    config = load(path)
    queue = config["run_coordinator"]["config"]
    assert queue["dequeue_interval_seconds"] <= 1
    assert queue["dequeue_use_threads"] is True and queue["dequeue_num_workers"] >= 2
    # The approval sensor runs beside the slower sensors, not after them.
    assert config["sensors"] == {"use_threads": True, "num_workers": config["sensors"]["num_workers"]}
    assert config["sensors"]["num_workers"] >= 2
    # Dagster's sensor daemon passes every 5 s at most: an interval below it evaluates on each pass.
    assert approval_sensor.minimum_interval_seconds is not None
    assert approval_sensor.minimum_interval_seconds < 5
