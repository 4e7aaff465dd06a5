"""The alert tick keeps Python's cyclic garbage collection waiting while it runs, and only then.

A full collection walks every object a process that loaded Dagster holds (about 200 ms); the
tick's own objects are freed by reference counting, so the collection waits for the tick's end.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest
from sqlalchemy.engine import Engine

from accsync_pipeline.service.alerting import check_alerts
from accsync_pipeline_tests.factories import add_org_with_admin, sandbox_org


@pytest.fixture
def collection_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    yield
    if not enabled:
        gc.disable()


@pytest.fixture
def org(engine: Engine) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("alpha", "xledger", {"base_url": "http://127.0.0.1:9"}))


def watch_collection(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, fail: bool = False
) -> list[bool]:
    """Whether collection was on each time the tick asked Dagster for runs (on its reading thread)."""
    seen: list[bool] = []
    get_run_records: Callable[..., Sequence[dg.RunRecord]] = instance.get_run_records

    def watching(*args: Any, **kwargs: Any) -> Sequence[dg.RunRecord]:
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("run storage unreachable")
        return get_run_records(*args, **kwargs)

    monkeypatch.setattr(instance, "get_run_records", watching)
    return seen


@pytest.mark.usefixtures("collection_on", "org")
def test_collection_waits_during_the_tick_and_runs_again_after_it(
    engine: Engine, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = watch_collection(dagster_instance, monkeypatch)
    check_alerts(engine, dagster_instance, datetime.now(UTC))
    assert seen and not any(seen)
    assert gc.isenabled()


@pytest.mark.usefixtures("collection_on", "org")
def test_collection_runs_again_after_a_tick_that_failed(
    engine: Engine, dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = watch_collection(dagster_instance, monkeypatch, fail=True)
    with pytest.raises(RuntimeError, match="unreachable"):
        check_alerts(engine, dagster_instance, datetime.now(UTC))
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.usefixtures("org")
def test_a_process_that_turned_collection_off_keeps_it_off(
    engine: Engine, dagster_instance: dg.DagsterInstance
) -> None:
    gc.disable()
    try:
        check_alerts(engine, dagster_instance, datetime.now(UTC))
        assert not gc.isenabled()
    finally:
        gc.enable()
