"""Start time of the command line's read commands, each in a fresh process.

Every command runs `--runs` times against a demo database of its own (a temporary SQLite
file: migrated and seeded once, before anything is measured), and prints the median and the
slowest wall time next to the median of `python -c pass` measured in the same run, so that a
busy machine shows as a slower baseline rather than as a slower command. Run with
`python -m accsync_pipeline.bench.cli` (`make bench-cli`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# The commands people type to look, not to change: each must start within the goal.
READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("org", "list"),
    ("org", "show", "hlf"),
    ("history", "--org", "hlf"),
    ("notifications", "--user", "kari.admin"),
    ("schedule", "describe", "0 2 * * 1-5"),
)
GOAL_SECONDS = 0.5


def timed(argv: Sequence[str], env: dict[str, str]) -> float:
    """Wall time of one process, from spawn to exit; a non-zero exit is an error of the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own commands
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:500]}")
    return elapsed


def prepare(env: dict[str, str]) -> None:
    """A migrated demo database (not measured)."""
    for args in (("db", "upgrade"), ("demo", "seed")):
        command = [sys.executable, "-m", "accsync_pipeline.cli", *args]
        subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603 - fixed arguments


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="Runs of each command (the median is printed).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="accsync-bench-cli-") as folder:
        env = {
            **os.environ,
            "ACCSYNC_DATABASE_URL": f"sqlite:///{Path(folder) / 'accsync.db'}",
            "DAGSTER_HOME": str(Path(folder) / "dagster"),
        }
        prepare(env)
        baseline = [timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        rows: list[tuple[str, float, float]] = []
        for command in READ_COMMANDS:
            argv_ = [sys.executable, "-m", "accsync_pipeline.cli", *command]
            times = [timed(argv_, env) for _ in range(args.runs)]
            rows.append(("accsync " + " ".join(command), statistics.median(times), max(times)))
    base = statistics.median(baseline)
    print(f"median of {args.runs} runs, wall time; goal {GOAL_SECONDS:.2f} s per read command")
    print(f"{'command':42} {'median s':>9} {'max s':>7} {'- baseline':>11}  goal")
    print(f"{'python -c pass (baseline)':42} {base:9.3f} {max(baseline):7.3f} {'':>11}")
    for name, median, slowest in rows:
        verdict = "ok" if median <= GOAL_SECONDS else "SLOW"
        print(f"{name:42} {median:9.3f} {slowest:7.3f} {median - base:11.3f}  {verdict}")


if __name__ == "__main__":
    main()
