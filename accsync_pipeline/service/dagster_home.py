"""Finding Dagster's instance: `DAGSTER_HOME`, or the embedded one under `.accsync/dagster`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parents[2]


def ensure_dagster_home() -> Path:
    """Use `DAGSTER_HOME` if set; otherwise the embedded default, with the repository's dagster.yaml."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str((Path(".accsync") / "dagster").resolve())
        os.environ["DAGSTER_HOME"] = home
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    template = REPO_ROOT / "dagster.yaml"
    if not config.exists() and template.exists():
        shutil.copyfile(template, config)
    return path


def dagster_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
