"""The Kubernetes deployment's config is what dagster-k8s and Dagster accept, and agrees with itself."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config_schema

from accsync_pipeline.service.dagster_home import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_the_run_launcher_config_passes_dagster_k8s_own_schema() -> None:
    from dagster_k8s import K8sRunLauncher

    launcher = load(DEPLOY / "dagster.k8s.yaml")["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = process_config(K8sRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors


def test_a_misspelt_launcher_key_is_refused_by_the_same_schema() -> None:
    from dagster_k8s import K8sRunLauncher

    config = dict(load(DEPLOY / "dagster.k8s.yaml")["run_launcher"]["config"])
    config["env_secret"] = config.pop("env_secrets")
    assert not process_config(K8sRunLauncher.config_type(), config).success


@pytest.mark.parametrize("name", ["dagster.k8s.yaml", "dagster.postgres.yaml"])
def test_the_production_instance_configs_pass_dagsters_instance_schema(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCSYNC_DAGSTER_POSTGRES_URL", "postgresql://dagster@db.example/dagster")
    result = process_config(dagster_instance_config_schema(), load(DEPLOY / name))
    assert result.success, result.errors


def test_helm_values_serve_the_code_location_and_keep_one_sync_per_org() -> None:
    values = load(DEPLOY / "helm" / "values.yaml")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == project["tool"]["dagster"]["module_name"]
    assert args[args.index("--location-name") + 1] == project["tool"]["dagster"]["code_location_name"]
    [server] = values["dagsterWebserver"]["workspace"]["servers"]
    assert (server["host"], server["port"]) == (deployment["name"], deployment["port"])
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    # The chart's coordinator and the instance config say the same: one sync per org at a time.
    chart = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    instance = load(DEPLOY / "dagster.k8s.yaml")["run_coordinator"]["config"]
    assert chart["maxConcurrentRuns"] == instance["max_concurrent_runs"] > 1
    assert (
        [(t["key"], t["limit"]) for t in chart["tagConcurrencyLimits"]]
        == [(t["key"], t["limit"]) for t in instance["tag_concurrency_limits"]]
        == [("accsync/org", 1), ("dagster/partition", 1)]
    )
    # The image and each run Job get the same Secret; no secret value is written in the values.
    assert deployment["envSecrets"] == values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]


def test_the_dagster_family_is_pinned_as_one_set_with_dagster_k8s() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = dict(
        dep.split("==")
        for dep in project["project"]["dependencies"] + project["project"]["optional-dependencies"]["k8s"]
    )
    core = pins["dagster"]
    minor = core.split(".", 1)[1]  # 1.13.27 -> 13.27; the libraries are 0.29.27 for 1.13.27
    assert (
        pins["dagster-k8s"]
        == pins["dagster-postgres"]
        == f"0.{int(minor.split('.')[0]) + 16}.{minor.split('.')[1]}"
    )
    assert "dagster-k8s==" + pins["dagster-k8s"] in project["project"]["optional-dependencies"]["test"]


def test_the_dockerfile_serves_the_same_location_and_installs_the_k8s_extra() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "'.[k8s]'" in dockerfile
    assert '"accsync_pipeline.definitions"' in dockerfile and '"3030"' in dockerfile
