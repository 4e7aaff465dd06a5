"""Dagster's production shape, locally as separate processes: PostgreSQL for Dagster and accsync,
the code location in its own gRPC code server, webserver and daemon pointed at it, runs started
by the run launcher. Twenty orgs sync at once (run queue limit 25); every record is posted once
and no org ever has two runs at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.dynamics import DEFAULT_CLIENT_SECRET
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.dagster_home import REPO_ROOT
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.service.processes import ChildSpec, Supervisor
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade
from accsync_pipeline_tests.conftest import POSTGRES_URL, require_postgres
from accsync_pipeline_tests.dagster_fixtures import free_port
from accsync_pipeline_tests.defs.test_dagster_deployment import launch_bypassing_the_check, wait_for
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import DYNAMICS_SECRET_ENV, dynamics_settings

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ORGS = 20
RECORDS = 30
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
TOLD_WHY = {"RUN_FAILURE", "STEP_FAILURE", "ENGINE_EVENT"}


@dataclass
class ProductionStack:
    url: str
    database_url: str
    instance: dg.DagsterInstance


def _schema_url(schema: str, driver: str) -> str:
    url = make_url(POSTGRES_URL).set(drivername=driver)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _wait_for_code_server(bin_dir: Path, port: int, env: dict[str, str], timeout: float = 180) -> None:
    """The webserver and daemon start after the code server answers, so the location loads at once."""
    check = [str(bin_dir / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(check, env=env, capture_output=True).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError("the gRPC code server did not start")


@pytest.fixture(scope="module")
def production_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionStack]:
    require_postgres()
    schemas = {name: f"t_{name}_{uuid.uuid4().hex[:8]}" for name in ("accsync", "dagster")}
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    root = tmp_path_factory.mktemp("production-shape")
    database_url = _schema_url(schemas["accsync"], "postgresql+psycopg2")
    engine = create_engine(database_url)
    upgrade(engine)
    engine.dispose()
    home = root / "dagster-home"
    home.mkdir()
    config = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    grpc_port, web_port = free_port(), free_port()
    # The webserver and the daemon load no code: they ask the code server over gRPC.
    server = {"host": "127.0.0.1", "port": grpc_port, "location_name": "accsync_pipeline"}
    (root / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [{"grpc_server": server}]}))
    url = f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "ACCSYNC_DATABASE_URL": database_url,
        "ACCSYNC_DAGSTER_POSTGRES_URL": _schema_url(schemas["dagster"], "postgresql+psycopg2"),
        "DAGSTER_HOME": str(home),
        "ACCSYNC_DAGSTER_URL": url,
        DYNAMICS_SECRET_ENV: DEFAULT_CLIENT_SECRET,
    }
    saved = {k: os.environ.get(k) for k in ("ACCSYNC_DATABASE_URL", "ACCSYNC_DAGSTER_POSTGRES_URL",
                                            "DAGSTER_HOME", "ACCSYNC_DAGSTER_URL")}  # fmt: skip
    os.environ.update({k: env[k] for k in saved})
    # Dagster's storage is created once, before its processes start, so that they do not race to migrate it.
    instance = dg.DagsterInstance.from_config(str(home))
    bin_dir = Path(sys.executable).parent
    supervisor = Supervisor(env, log_dir=str(root / "logs"))
    code_server = ChildSpec(
        "code-server",
        [str(bin_dir / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(grpc_port),
         "-m", "accsync_pipeline.definitions", "--location-name", "accsync_pipeline"],
    )  # fmt: skip
    workspace = str(root / "workspace.yaml")
    webserver = ChildSpec(
        "dagster-webserver",
        [str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(web_port)],
        ready_url=f"{url}/server_info",
    )
    daemon = ChildSpec("dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", workspace])
    try:
        supervisor.start(code_server)
        _wait_for_code_server(bin_dir, grpc_port, env)
        process = supervisor.start(webserver)
        supervisor.start(daemon)
        supervisor.wait_ready(webserver, process)
        yield ProductionStack(url, database_url, instance)
    finally:
        instance.dispose()
        supervisor.stop_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with admin.begin() as conn:
            for schema in schemas.values():
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def failure_reasons(instance: dg.DagsterInstance, run_ids: list[str]) -> list[str]:
    """Why each failed run failed, in Dagster's own words, so that a red test says why."""
    reasons = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is None or run.status.value != "FAILURE":
            continue
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is not None and event.event_type_value in TOLD_WHY:
                said = f"{entry.user_message} {event.event_specific_data or ''}"
                reasons.append(f"{run_id[:8]} {event.event_type_value}: {said}")
    return reasons


def test_twenty_orgs_sync_at_once_each_record_once_and_one_run_per_org(
    production_stack: ProductionStack, dynamics_sandbox: RunningSandbox
) -> None:
    orgs = [f"org_{i:02d}" for i in range(ORGS)]
    engine = create_engine(production_stack.database_url)
    with engine.begin() as conn:
        for org_id in orgs:
            add_org_with_admin(conn, sandbox_org(org_id, "dynamics", dynamics_settings(dynamics_sandbox)))
            add_sources(conn, org_id, RECORDS, prefix=f"{org_id}-")
    engine.dispose()
    # Each run waits on the ledger long enough for the queue to show that runs of different orgs overlap.
    dynamics_sandbox.set_faults(latency_ms=1500)
    dagster = DagsterGraphQL(production_stack.url)
    # Two launches per org, as a schedule tick and a UI click would: the queue must hold the second.
    run_ids = [
        launch_bypassing_the_check(dagster, SyncRequest(org_id, trigger))
        for trigger in ("schedule", "manual")
        for org_id in orgs
    ]
    instance = production_stack.instance

    def finished() -> bool:
        runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
        return all(run is not None and run.status.value in TERMINAL for run in runs)

    wait_for(finished, timeout=900, what="every run to finish")
    records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    statuses = Counter(records[run_id].dagster_run.status.value for run_id in run_ids)
    if statuses != {"SUCCESS": 2 * ORGS}:
        pytest.fail(f"{dict(statuses)}:\n" + "\n".join(failure_reasons(instance, run_ids)), pytrace=False)
    # The runs were launched by the run launcher, as run worker processes of the code server's code.
    assert all(records[run_id].start_time is not None for run_id in run_ids)
    by_org: dict[str, list[tuple[float, float]]] = {}
    for run_id in run_ids:
        record = records[run_id]
        org_id = record.dagster_run.tags["accsync/org"]
        by_org.setdefault(org_id, []).append((record.start_time or 0, record.end_time or 0))
    for org_id, spans in by_org.items():
        first, second = sorted(spans)
        assert first[1] <= second[0], f"{org_id}: two runs at once {spans}"
    starts = sorted(start for spans in by_org.values() for start, _ in spans)
    ends = sorted(end for spans in by_org.values() for _, end in spans)
    concurrent = max(sum(1 for s in starts if s <= t) - sum(1 for e in ends if e <= t) for t in starts)
    assert concurrent > 1, "the queue ran one run at a time"
    posted = Counter(p["externalDocumentNumber"] for p in dynamics_sandbox.postings())
    expected = {idempotency_key(o, f"{o}-{i:05d}").upper() for o in orgs for i in range(RECORDS)}
    assert {key.upper() for key in posted} == expected
    assert set(posted.values()) == {1}
