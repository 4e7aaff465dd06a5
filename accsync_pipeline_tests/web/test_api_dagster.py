"""Sync Now and Retry end to end: the API launches through a real dagster-webserver, the daemon runs it.

The org posts to the Business Central sandbox; the run's progress and outcome come back through
the API, pending drops, and the last sync time is the run's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.web import deps
from accsync_pipeline.web.app import create_app
from accsync_pipeline.web.auth import issue_token
from accsync_pipeline_tests.dagster_fixtures import DagsterStack, dagster_stack  # noqa: F401
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _dynamics_server,
    dynamics_sandbox,
    dynamics_settings,
    sandbox_secrets,
)
from accsync_pipeline_tests.web.conftest import TestClient, json_of

pytestmark = pytest.mark.slow
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture
def stack_engine(dagster_stack: DagsterStack) -> Iterator[Engine]:  # noqa: F811
    engine = create_engine(dagster_stack.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def client(dagster_stack: DagsterStack, stack_engine: Engine, jwt_secret: str) -> TestClient:  # noqa: F811
    app = create_app()
    app.dependency_overrides[deps.get_engine] = lambda: stack_engine
    app.dependency_overrides[deps.get_dagster_instance] = lambda: dagster_stack.instance
    return TestClient(app)


def login(client: TestClient, user_id: str, org_id: str) -> None:
    from accsync_pipeline.domain.org import User

    token = issue_token(User(user_id, user_id, "", "org_admin", org_id))
    client.headers["Authorization"] = f"Bearer {token}"


def wait_for_run(client: TestClient, org_id: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = json_of(client.get(f"/api/orgs/{org_id}/runs/{run_id}"))
        if run["status"] in TERMINAL:
            return run  # type: ignore[no-any-return]
        time.sleep(0.5)
    pytest.fail(f"run {run_id} did not finish within {timeout:.0f}s")


def test_sync_now_runs_through_dagster_and_a_second_trigger_is_refused(
    client: TestClient,
    stack_engine: Engine,
    dynamics_sandbox: RunningSandbox,  # noqa: F811
) -> None:
    with stack_engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("e2e_sync", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_sources(conn, "e2e_sync", 40, prefix="E")
    login(client, "e2e_sync.admin", "e2e_sync")
    before = json_of(client.get("/api/orgs/e2e_sync/status"))
    assert before["pending"] == 40 and before["last_successful_sync_at"] is None
    assert json_of(client.get("/api/orgs/e2e_sync/sync/preview"))["total"] == 40

    launched = client.post("/api/orgs/e2e_sync/sync")
    assert launched.status_code == 202, launched.text
    run_id = launched.json()["run_id"]
    second = client.post("/api/orgs/e2e_sync/sync")
    assert second.status_code == 409 and run_id in second.json()["detail"]

    run = wait_for_run(client, "e2e_sync", run_id)
    assert (run["status"], run["done"], run["total"], run["exported"]) == ("SUCCESS", 40, 40, 40)
    after = json_of(client.get("/api/orgs/e2e_sync/status"))
    assert after["pending"] == 0 and after["health"]["level"] == "green"
    assert datetime.fromisoformat(after["last_successful_sync_at"]) == datetime.fromisoformat(
        run["finished_at"]
    )
    history = json_of(client.get("/api/orgs/e2e_sync/history"))
    assert [(r["run_id"], r["trigger"], r["user_id"], r["exported"]) for r in history["runs"]] == [
        (run_id, "manual", "e2e_sync.admin", 40)
    ]
    assert len(dynamics_sandbox.postings()) == 40


def test_retry_sends_the_failed_records_in_one_tagged_run(
    client: TestClient,
    stack_engine: Engine,
    dynamics_sandbox: RunningSandbox,  # noqa: F811
) -> None:
    with stack_engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("e2e_retry", "dynamics", dynamics_settings(dynamics_sandbox)))
        ids = add_sources(conn, "e2e_retry", 6, prefix="T")
    dynamics_sandbox.set_faults(
        reject_keys={idempotency_key("e2e_retry", rid): "INVALID_VALUE" for rid in ids[:2]}
    )
    login(client, "e2e_retry.admin", "e2e_retry")
    first = wait_for_run(client, "e2e_retry", json_of(client.post("/api/orgs/e2e_retry/sync"))["run_id"])
    assert (first["exported"], first["failed"]) == (4, 2)
    failed = json_of(client.get("/api/orgs/e2e_retry/records", params={"status": "failed"}))
    assert [r["record_id"] for r in failed["records"]] == ids[:2] and failed["records"][0]["retry_count"] == 1

    dynamics_sandbox.set_faults(reject_keys={})
    retry = json_of(client.post("/api/orgs/e2e_retry/retry", json={"record_ids": [ids[0]]}))
    assert retry["record_ids"] == [ids[0]]
    run = wait_for_run(client, "e2e_retry", retry["run_id"])
    assert (run["status"], run["exported"], run["total"]) == ("SUCCESS", 1, 1)
    left = json_of(client.get("/api/orgs/e2e_retry/records", params={"status": "failed"}))
    assert [r["record_id"] for r in left["records"]] == [ids[1]]
    history = json_of(client.get(f"/api/orgs/e2e_retry/records/{ids[0]}/history"))
    assert [(a["outcome"], a["resolved_by_run_id"]) for a in history] == [
        ("exported", None),
        ("failed", retry["run_id"]),
    ]
    runs = json_of(client.get("/api/orgs/e2e_retry/history"))["runs"]
    assert (runs[0]["run_id"], runs[0]["trigger"], runs[0]["user_id"]) == (
        retry["run_id"],
        "retry",
        "e2e_retry.admin",
    )
