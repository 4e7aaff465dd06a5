"""Failed sync runs per org, read from Dagster's run history and kept between alert ticks.

Each test asks once (the runs are kept), changes the run history the way Dagster does, and asks
again: the answer must follow the change, while a tick with nothing changed reads no run again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from accsync_pipeline.domain.run_tags import ORG_TAG, REFUSED_TAG
from accsync_pipeline.service import failed_runs
from accsync_pipeline.service.failed_runs import failed_runs_since_success


def run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, org_id: str = "alpha") -> dg.DagsterRun:
    return create_run_for_test(instance, job_name="sync_job", status=status, tags={ORG_TAG: org_id})


def window(hours: int = 24, *org_ids: str) -> dict[str, datetime]:
    since = datetime.now(UTC) - timedelta(hours=hours)
    return {org_id: since for org_id in org_ids or ("alpha",)}


def test_a_run_that_fails_after_a_tick_counts_and_a_later_success_puts_it_right(
    dagster_instance: dg.DagsterInstance,
) -> None:
    started = run(dagster_instance, dg.DagsterRunStatus.STARTED)
    run(dagster_instance, dg.DagsterRunStatus.FAILURE, "beta")
    assert failed_runs_since_success(dagster_instance, window(24, "alpha", "beta")) == {"beta": 1}
    dagster_instance.report_run_failed(started)
    assert failed_runs_since_success(dagster_instance, window(24, "alpha", "beta")) == {"alpha": 1, "beta": 1}
    run(dagster_instance, dg.DagsterRunStatus.SUCCESS)
    assert failed_runs_since_success(dagster_instance, window(24, "alpha", "beta")) == {"beta": 1}


def test_a_failed_run_tagged_refused_after_a_tick_no_longer_counts(
    dagster_instance: dg.DagsterInstance,
) -> None:
    refused = run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 2}
    # A tag changes no run's status: only the time of the run's last update moves.
    dagster_instance.add_run_tags(refused.run_id, {REFUSED_TAG: "true"})
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 1}


def test_a_deleted_run_no_longer_counts(dagster_instance: dg.DagsterInstance) -> None:
    first = run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 2}
    dagster_instance.delete_run(first.run_id)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 1}


def test_a_window_reaching_further_back_than_the_runs_kept_reads_them_again(
    dagster_instance: dg.DagsterInstance,
) -> None:
    run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    later = {"alpha": datetime.now(UTC) + timedelta(seconds=1)}
    assert failed_runs_since_success(dagster_instance, later) == {}  # the run is before the window
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 1}


def test_after_a_restart_the_first_tick_reads_the_history_afresh(
    dagster_instance: dg.DagsterInstance,
) -> None:
    run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 1}
    failed_runs.forget()
    run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 2}


def test_a_tick_with_nothing_changed_reads_no_run_again(
    dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(6):
        run(dagster_instance, dg.DagsterRunStatus.FAILURE)
    read: list[int] = []
    get_run_records: Callable[..., Sequence[dg.RunRecord]] = dagster_instance.get_run_records

    def counting(*args: Any, **kwargs: Any) -> Sequence[dg.RunRecord]:
        records = get_run_records(*args, **kwargs)
        read.append(len(records))
        return records

    monkeypatch.setattr(dagster_instance, "get_run_records", counting)
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 6}
    assert sum(read) >= 6
    read.clear()
    assert failed_runs_since_success(dagster_instance, window()) == {"alpha": 6}
    assert sum(read) == 0  # two narrow questions, each answered without a run
