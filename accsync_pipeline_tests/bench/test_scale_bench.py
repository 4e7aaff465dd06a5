"""`make bench-scale` works: the small profile generates its data set and prints every figure.

The figures themselves are read by people (goals are checked by reading them, not by timing
tests on a shared machine); this proves the benchmark runs end to end on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accsync_pipeline.bench import scale, scale_data
from accsync_pipeline.store.engine import create_engine

pytestmark = pytest.mark.postgres

FIGURES = [
    "GET /api/orgs",
    "global page /orgs",
    "/status",
    "pending list",
    "Sync Now preview",
    "live status stream: one poll",
    "auto-retry",
    "approval",
    "alert, first tick",
    "alert, steady tick",
    "scheduler iteration after a restart",
    "busiest schedule's tick evaluated",
    "end-to-end export",
    "records/s",
    "peak RSS",
    "load average after",
]


def test_the_small_scale_benchmark_prints_every_figure(
    postgres_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scale.main(["--small", "--url", postgres_schema_url]) == 0
    output = capsys.readouterr().out
    for figure in FIGURES:
        assert figure in output, figure
    assert "posted 2,000" in output  # every record of the export exactly once
    assert "rows: organizations 20, approved_records 5,800" in output


def small_data_set(url: str) -> None:
    """The orgs an `--only` run measures: it generates nothing itself."""
    engine = create_engine(url)
    try:
        scale_data.generate(engine, scale_data.SMALL, datetime.now(UTC))
    finally:
        engine.dispose()


def test_the_alert_sensor_alone_is_measured_on_the_orgs_already_there(
    postgres_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small_data_set(postgres_schema_url)
    assert scale.main(["--only", "alerts", "--small", "--url", postgres_schema_url]) == 0
    output = capsys.readouterr().out
    assert "alert, first tick" in output and "alert, steady tick (20 ticks)" in output
    assert "GET /api/orgs" not in output  # nothing else is measured


def test_the_endpoints_alone_are_measured_on_the_orgs_already_there(
    postgres_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small_data_set(postgres_schema_url)
    assert scale.main(["--only", "endpoints", "--small", "--url", postgres_schema_url]) == 0
    output = capsys.readouterr().out
    assert "status page /orgs/{org}" in output and "GET /api/orgs" in output
    assert "alert, steady tick" not in output and "scheduler" not in output  # nothing else is measured
    assert "goals: " in output and "of 7 met" in output
