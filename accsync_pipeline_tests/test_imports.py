"""Every module imports on its own, and importing the code location touches no database.

An import circle only breaks when a module in it is the first one imported, which a test run
that imports everything in its usual order never sees: so each module is imported with no
other accsync module loaded, in a fresh interpreter (libraries stay loaded, for speed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

IMPORT_EACH_ALONE = """
import importlib, json, sys, traceback
from pathlib import Path
import accsync_pipeline

# Found on disk, not by importing packages: a package that fails must not hide its modules.
root = Path(accsync_pipeline.__file__).parent.parent
names = sorted(
    ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
    for p in (root / "accsync_pipeline").rglob("*.py")
    # __main__ runs the CLI when imported, and alembic runs the migration scripts itself.
    if p.name != "__main__.py" and "migrations" not in p.relative_to(root).parts
)
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] == "accsync_pipeline"]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps({"imported": len(names), "failed": failed}))
"""

IMPORT_CODE_LOCATION = """
import accsync_pipeline.definitions as location
from dagster._core.workspace.autodiscovery import loadable_targets_from_loaded_module

[target] = loadable_targets_from_loaded_module(location)
print(target.attribute)
"""


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_each_module_imports_with_no_other_accsync_module_loaded() -> None:
    result = _python(IMPORT_EACH_ALONE, dict(os.environ))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["imported"] > 100  # the whole package was walked, not a stray subset
    assert report["failed"] == {}, "\n".join(f"{k}:\n{v}" for k, v in report["failed"].items())


def test_importing_the_code_location_opens_no_database(tmp_path: Path) -> None:
    database = tmp_path / "accsync.db"
    env = {**os.environ, "ACCSYNC_DATABASE_URL": f"sqlite:///{database}", "DAGSTER_HOME": str(tmp_path)}
    result = _python(IMPORT_CODE_LOCATION, env)
    assert result.returncode == 0, result.stderr
    # Dagster finds the lazy entry point, and SQLite would have made the file on connecting.
    assert result.stdout.strip() == "build_definitions"
    assert not database.exists()
    assert "cannot read organizations" not in result.stderr
