"""A missing, corrupted, unmigrated or unreachable accsync database: one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accsync_pipeline.store.engine import DatabaseUnavailable, check_database, create_engine
from accsync_pipeline.store.migrate import upgrade

ACCSYNC = str(Path(sys.executable).parent / "accsync")


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCSYNC_DATABASE_URL": url, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([ACCSYNC, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("malformed", "is not a database URL"),
        ("uncreatable", "cannot create the folder"),
        ("corrupted", "not a database"),
        ("no tables", "accsync db upgrade"),
    ],
)
def test_each_database_problem_is_one_line_and_exit_code_2(tmp_path: Path, kind: str, says: str) -> None:
    if kind == "malformed":
        url = "definitely not a url"
    elif kind == "uncreatable":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        url = f"sqlite:///{blocker}/sub/accsync.db"
    elif kind == "corrupted":
        path = tmp_path / "accsync.db"
        path.write_bytes(b"this is not an sqlite file at all" * 100)
        url = f"sqlite:///{path}"
    else:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(url, "org", "list")
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and says in lines[0], result.stderr


def test_check_database_names_what_is_wrong(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'accsync.db'}")
    with pytest.raises(DatabaseUnavailable, match="has no accsync tables"):
        check_database(engine)
    upgrade(engine)
    check_database(engine)


def test_a_deleted_sqlite_file_is_noticed_not_written_into(tmp_path: Path) -> None:
    path = tmp_path / "accsync.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    check_database(engine)
    path.unlink()
    with pytest.raises(DatabaseUnavailable, match="is missing"):
        check_database(engine)
    assert not path.exists()


def test_a_replaced_sqlite_file_is_read_afresh(tmp_path: Path) -> None:
    path = tmp_path / "accsync.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    check_database(engine)
    path.unlink()
    path.write_bytes(b"")  # someone put an empty file in its place
    with pytest.raises(DatabaseUnavailable, match="no accsync tables"):
        check_database(engine)
