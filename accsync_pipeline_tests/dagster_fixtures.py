"""A real Dagster deployment for end-to-end tests: dagster-webserver and dagster-daemon as subprocesses.

    from accsync_pipeline_tests.dagster_fixtures import dagster_stack  # noqa: F401

The stack is module-scoped (it takes a few seconds to start): tests in one module share its
accsync database, so each should use its own org ids. The test process's environment points
at the stack's database and Dagster home while the module runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from accsync_pipeline.sandbox.dynamics import DEFAULT_CLIENT_SECRET
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN
from accsync_pipeline.service.dagster_home import REPO_ROOT
from accsync_pipeline.service.processes import ChildSpec, Supervisor
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline_tests.sandbox_fixtures import DYNAMICS_SECRET_ENV, XLEDGER_TOKEN_ENV


@dataclass
class DagsterStack:
    url: str
    home: Path
    database_url: str
    instance: dg.DagsterInstance
    logs: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dagster_yaml(home: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    # Tests should not wait the production default between dequeues.
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def dagster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterStack]:
    root = tmp_path_factory.mktemp("dagster-stack")
    database_url = f"sqlite:///{root}/accsync.db"
    engine = create_engine(database_url)
    upgrade(engine)
    engine.dispose()
    home = root / "dagster-home"
    home.mkdir()
    _dagster_yaml(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        {
            "ACCSYNC_DATABASE_URL": database_url,
            "DAGSTER_HOME": str(home),
            "ACCSYNC_DAGSTER_URL": url,
            XLEDGER_TOKEN_ENV: DEFAULT_TOKEN,
            DYNAMICS_SECRET_ENV: DEFAULT_CLIENT_SECRET,
        }
    )
    bin_dir = Path(sys.executable).parent
    workspace = str(REPO_ROOT / "workspace.yaml")
    logs = root / "logs"
    supervisor = Supervisor(env, log_dir=str(logs))
    webserver = ChildSpec(
        "dagster-webserver",
        [str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
        ready_url=f"{url}/server_info",
    )
    daemon = ChildSpec("dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", workspace])
    saved = {k: os.environ.get(k) for k in ("ACCSYNC_DATABASE_URL", "DAGSTER_HOME", "ACCSYNC_DAGSTER_URL")}
    # Create Dagster's storage before its two processes start, so they do not both migrate it.
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        process = supervisor.start(webserver)
        supervisor.start(daemon)
        supervisor.wait_ready(webserver, process)
        os.environ.update({k: env[k] for k in saved})
        yield DagsterStack(url, home, database_url, instance, logs)
        instance.dispose()
    finally:
        supervisor.stop_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home / "storage", ignore_errors=True)
