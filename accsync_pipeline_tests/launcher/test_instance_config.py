"""dagster.yaml names the warm run launcher, and Dagster loads and validates its config."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import yaml
from dagster._config import process_config

from accsync_pipeline.launcher import WarmRunLauncher
from accsync_pipeline.launcher.warm_launcher import DEFAULT_PRELOAD_MODULES
from accsync_pipeline.service.dagster_home import REPO_ROOT


def test_the_embedded_instance_launches_runs_with_the_warm_launcher(tmp_path: Path) -> None:
    shutil.copyfile(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, WarmRunLauncher)
        assert launcher.supports_check_run_worker_health
        assert launcher._preload_modules == list(DEFAULT_PRELOAD_MODULES)


def test_preload_modules_are_configurable_and_misspellings_refused(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    config["run_launcher"]["config"] = {"preload_modules": ["dagster"]}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, WarmRunLauncher)
        assert launcher._preload_modules == ["dagster"]
    assert not process_config(WarmRunLauncher.config_type(), {"preload_module": ["dagster"]}).success
    assert not process_config(WarmRunLauncher.config_type(), {"preload_modules": "dagster"}).success
