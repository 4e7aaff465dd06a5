"""Sandboxes served over a real socket, and the settings and records that go with them.

Import the fixtures into a conftest to use them::

    from accsync_pipeline_tests.sandbox_fixtures import dynamics_sandbox, xledger_sandbox  # noqa: F401

Each sandbox is started once per session and reset before every test that asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accsync_pipeline.connectors.batching import RetryPolicy
from accsync_pipeline.sandbox.dynamics import (
    DEFAULT_CLIENT_SECRET,
    DEFAULT_COMPANY_ID,
    DEFAULT_JOURNAL_ID,
    DynamicsSandbox,
)
from accsync_pipeline.sandbox.records import sample_records
from accsync_pipeline.sandbox.server import RunningSandbox, start_in_thread
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN, XledgerSandbox

XLEDGER_TOKEN_ENV = "ACCSYNC_TEST_XLEDGER_TOKEN"
DYNAMICS_SECRET_ENV = "ACCSYNC_TEST_DYNAMICS_SECRET"
# Retries without the production pauses, so fault tests stay fast.
FAST_RETRY = RetryPolicy(attempts=4, base_delay_seconds=0.01, max_wait_seconds=5)


def xledger_settings(sandbox: RunningSandbox, **overrides: Any) -> dict[str, Any]:
    return {"base_url": sandbox.base_url, "token_env": XLEDGER_TOKEN_ENV, **overrides}


def dynamics_settings(sandbox: RunningSandbox, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": sandbox.base_url,
        "auth_url": sandbox.base_url,
        "tenant": "sandbox-tenant",
        "environment": "production",
        "company_id": DEFAULT_COMPANY_ID,
        "journal_id": DEFAULT_JOURNAL_ID,
        "client_id": "accsync-sandbox",
        "client_secret_env": DYNAMICS_SECRET_ENV,
        **overrides,
    }


make_records = sample_records


@pytest.fixture
def sandbox_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(XLEDGER_TOKEN_ENV, DEFAULT_TOKEN)
    monkeypatch.setenv(DYNAMICS_SECRET_ENV, DEFAULT_CLIENT_SECRET)


@pytest.fixture(scope="session")
def _xledger_server() -> Iterator[RunningSandbox]:
    running = start_in_thread(XledgerSandbox(burst=1000, burst_per_second=1000))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def _dynamics_server() -> Iterator[RunningSandbox]:
    running = start_in_thread(DynamicsSandbox(page_size=60))
    yield running
    running.stop()


@pytest.fixture
def xledger_sandbox(_xledger_server: RunningSandbox, sandbox_secrets: None) -> RunningSandbox:
    """Xledger sandbox, empty, without faults; generous burst limit so tests are not throttled."""
    _xledger_server.reset()
    return _xledger_server


@pytest.fixture
def dynamics_sandbox(_dynamics_server: RunningSandbox, sandbox_secrets: None) -> RunningSandbox:
    """Business Central sandbox, empty, without faults; pages of 60 lines so lookups page."""
    _dynamics_server.reset()
    return _dynamics_server
