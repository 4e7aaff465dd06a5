"""The embedded Dagster instance keeps the repository's config; an operator's DAGSTER_HOME keeps theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from accsync_pipeline.service.dagster_home import REPO_ROOT, ensure_dagster_home


def test_the_embedded_instance_takes_an_updated_repository_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / ".accsync" / "dagster" / "dagster.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("telemetry:\n  enabled: false\n")  # from an earlier release: no run monitoring

    home = ensure_dagster_home()

    assert home == stale.parent.resolve()
    assert stale.read_bytes() == (REPO_ROOT / "dagster.yaml").read_bytes()


def test_an_operators_dagster_home_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "ops-home"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(own))

    ensure_dagster_home()

    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_an_empty_dagster_home_gets_the_repository_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "new-home"))

    ensure_dagster_home()

    assert (tmp_path / "new-home" / "dagster.yaml").read_bytes() == (REPO_ROOT / "dagster.yaml").read_bytes()
