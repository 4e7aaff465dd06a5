"""Start time of the command line's read commands, each in a fresh process.

Every command runs `--runs` times against a demo database of its own (a temporary SQLite
file: migrated and seeded once, before anything is measured), and prints the median and the
slowest wall time next to the median of `python -c pass` measured in the same run, so that a
busy machine shows as a slower baseline rather than as a slower command. The CPU time (user +
system) of each process is printed too: on a machine shared with other work it moves far less
than the wall time. Run with
`python -m accsync_pipeline.bench.cli` (`make bench-cli`).
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process, from spawn to exit; a non-zero exit fails the benchmark."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own commands
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:500]}")
    return elapsed, _children_cpu() - cpu_before


def prepare(env: dict[str, str]) -> None:
    """A migrated demo database (not measured)."""
    for args in (("db", "upgrade"), ("demo", "seed")):
        command = [sys.executable, "-m", "accsync_pipeline.cli", *args]
        subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603 - fixed arguments


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="Runs of each command (the median is printed).")
    parser.add_argument("--only", metavar="WORD", help="Time only the read commands that start with WORD.")
    args = parser.parse_args(argv)
    commands = [c for c in READ_COMMANDS if args.only is None or c[0] == args.only]
    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="accsync-bench-cli-") as folder:
        env = {
            **os.environ,
            "ACCSYNC_DATABASE_URL": f"sqlite:///{Path(folder) / 'accsync.db'}",
            "DAGSTER_HOME": str(Path(folder) / "dagster"),
        }
        prepare(env)
        rows = [
            (
                "python -c pass (baseline)",
                [timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)],
            )
        ]
        for command in commands:
            argv_ = [sys.executable, "-m", "accsync_pipeline.cli", *command]
            rows.append(("accsync " + " ".join(command), [timed(argv_, env) for _ in range(args.runs)]))
    base = statistics.median(wall for wall, _ in rows[0][1])
    print(f"median of {args.runs} runs each; goal {GOAL_SECONDS:.2f} s wall per read command")
    print(f"{'command':42} {'wall s':>7} {'max s':>7} {'-base':>7} {'cpu s':>7}  goal")
    for name, runs in rows:
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        verdict = "" if name.startswith("python") else "ok" if wall <= GOAL_SECONDS else "SLOW"
        print(
            f"{name:42} {wall:7.3f} {max(w for w, _ in runs):7.3f} {wall - base:7.3f} {cpu:7.3f}  {verdict}"
        )
    print(f"load average after: {_load()}")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
