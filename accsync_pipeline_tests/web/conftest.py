"""The admin API against a real accsync database (SQLite and PostgreSQL), with a fake Dagster launcher.

`api.client(user)` is a TestClient that sends that user's bearer token. The launcher is a fake
with the real one's interface (see `service.launch.SyncLauncher`); the end-to-end tests in
`test_api_dagster.py` use the real webserver and daemon instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import dagster as dg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.exceptions import StarletteDeprecationWarning

from accsync_pipeline.domain.org import User
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.domain.schedule import DailySchedule
from accsync_pipeline.service.dagster_sync import DagsterUpdate
from accsync_pipeline.service.launch import DagsterUnavailable, SyncAlreadyRunning, SyncRequest
from accsync_pipeline.service.sync_now import DagsterRunInfo
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.web import deps
from accsync_pipeline.web.api.orgs import get_config_applier
from accsync_pipeline.web.app import create_app
from accsync_pipeline.web.auth import JWT_SECRET_ENV, issue_token
from accsync_pipeline_tests.factories import NOW, add_org_with_admin, sandbox_org

# Starlette asks for the `httpx2` fork at import time; the pinned `httpx` works the same for tests.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SECRET = "test-signing-secret-of-sufficient-length-0123456789"
CLOCK = NOW + timedelta(minutes=5)
# Settings a connector accepts; nothing listens at port 9, so a connection test fails fast.
UNREACHABLE_DYNAMICS = {
    "base_url": "http://127.0.0.1:9",
    "auth_url": "http://127.0.0.1:9",
    "tenant": "t",
    "environment": "production",
    "company_id": "5f3b7c1e-0b4d-4e8a-9c2f-6a1d2e3f4a5b",
    "journal_id": "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f",
    "client_id": "accsync-test",
    "client_secret_env": "ACCSYNC_TEST_UNSET_SECRET",
}
GLOBAL_ADMIN = User("global.admin", "Ingrid Berg", "ingrid@accsync.example", "global_admin", None)


@dataclass
class FakeLauncher:
    """Dagster as the API sees it: launches runs, knows which are active, refuses a second one."""

    launched: list[SyncRequest] = field(default_factory=list)
    active: dict[str, str] = field(default_factory=dict)
    runs: dict[str, DagsterRunInfo] = field(default_factory=dict)
    unavailable: bool = False

    def _check(self) -> None:
        if self.unavailable:
            raise DagsterUnavailable("cannot reach Dagster at http://127.0.0.1:3000/graphql: ConnectError")

    def reserve_run_id(self, org_id: str) -> None:
        return None

    def launch_sync(self, request: SyncRequest, run_id: str | None = None) -> str:
        self._check()
        if request.org_id in self.active:
            raise SyncAlreadyRunning(request.org_id, self.active[request.org_id])
        run_id = f"run-{len(self.launched) + 1:04d}"
        self.launched.append(request)
        self.runs[run_id] = DagsterRunInfo(run_id, "QUEUED", request.org_id)
        self.active[request.org_id] = run_id
        return run_id

    def active_run_id(self, org_id: str) -> str | None:
        self._check()
        return self.active.get(org_id)

    def run_info(self, run_id: str) -> DagsterRunInfo | None:
        self._check()
        return self.runs.get(run_id)

    def close(self) -> None:
        pass


@dataclass
class Api:
    app: FastAPI
    engine: Engine
    launcher: FakeLauncher
    applied: list[str]

    def token(self, user: User) -> str:
        return issue_token(user, now=datetime.now(CLOCK.tzinfo))

    def client(self, user: User | None = None) -> TestClient:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return TestClient(self.app, headers=headers)


@pytest.fixture
def jwt_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(JWT_SECRET_ENV, SECRET)
    monkeypatch.delenv("ACCSYNC_DEV_LOGIN", raising=False)
    return SECRET


@pytest.fixture
def api(engine: Engine, accsync_env: str, jwt_secret: str) -> Iterator[Api]:
    app = create_app()
    launcher = FakeLauncher()
    applied: list[str] = []

    def apply(org_id: str) -> DagsterUpdate:
        applied.append(org_id)
        return DagsterUpdate(ok=True, message="Dagster reloaded")

    app.dependency_overrides[deps.get_engine] = lambda: engine
    app.dependency_overrides[deps.get_launcher] = lambda: launcher
    app.dependency_overrides[deps.get_now] = lambda: CLOCK
    app.dependency_overrides[get_config_applier] = lambda: apply
    # Never the instance under DAGSTER_HOME (or the repository's .accsync): history tests give their own.
    instance = dg.DagsterInstance.ephemeral()
    app.dependency_overrides[deps.get_dagster_instance] = lambda: instance
    yield Api(app, engine, launcher, applied)
    instance.dispose()


@dataclass(frozen=True)
class Seeded:
    hlf_admin: User
    other_admin: User
    global_admin: User


@pytest.fixture
def seeded(api: Api) -> Seeded:
    """Two orgs with an administrator each, and a global administrator."""
    with api.engine.begin() as conn:
        hlf = add_org_with_admin(conn, sandbox_org("hlf", "dynamics", UNREACHABLE_DYNAMICS, name="HLF"))
        other = add_org_with_admin(
            conn,
            sandbox_org(
                "other",
                "dynamics",
                UNREACHABLE_DYNAMICS,
                name="Other",
                schedule=DailySchedule(time(2, 0)),
            ),
        )
        user_store.insert_user(conn, GLOBAL_ADMIN)
    return Seeded(hlf, other, GLOBAL_ADMIN)


def fail_records(
    engine: Engine,
    org_id: str,
    record_ids: Sequence[str],
    run_id: str = "run-failed",
    error: str = "Application_FieldValidationException: account 9999 does not exist",
    next_attempt_in: timedelta = timedelta(hours=1),
    at: datetime = NOW,
) -> None:
    """Take the org's records in and fail the given ones, as a sync run would."""
    with engine.begin() as conn:
        record_store.intake(conn, org_id, at)
        results = [
            record_store.RecordResult(
                rid,
                org_id,
                SyncStatus.FAILED,
                error=error,
                error_code="Application_FieldValidationException",
                next_attempt_at=at + next_attempt_in,
            )
            for rid in record_ids
        ]
        record_store.write_results(conn, results, run_id, "schedule", at)


def json_of(response: Any) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json()
