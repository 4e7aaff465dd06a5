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
    embedded = not home
    if not home:
        home = str((Path(".accsync") / "dagster").resolve())
        os.environ["DAGSTER_HOME"] = home
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    template = REPO_ROOT / "dagster.yaml"
    if not template.exists():
        return path
    # The embedded instance follows the repository's config, so that an update (run
    # monitoring, queue settings) reaches a checkout that ran before; a DAGSTER_HOME the
    # operator chose is theirs, and only filled in when it has no config yet.
    stale = embedded and config.exists() and config.read_bytes() != template.read_bytes()
    if not config.exists() or stale:
        shutil.copyfile(template, config)
    return path


def dagster_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
