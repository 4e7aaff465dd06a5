"""Latency of a sync, from the click (or the approval) to the ledger, on `accsync run`'s own stack.

Starts `accsync run` in a temporary state directory on free ports (demo data, sandboxes,
Dagster's webserver and daemon, the admin service), waits for the demo's first syncs, then
alternates two kinds of sample, each posting a few fresh records:

- Sync Now: a few records approved for HLF (which does not sync on approval), then
  `POST /api/orgs/hlf/sync` with a development-login token, as the Sync Now button does;
- approval: a few records approved for Blindeforbundet, which syncs on every approval, so
  the approval sensor launches the run.

For each it prints the median and p95 of click → run started → first record posted (the
sandbox ledger's posting count, polled every 25 ms) → finished, and where the time goes: the
API call (or the sensor noticing the approval), the wait in Dagster's run queue, the run
worker's start, the export up to the first posting and the rest of the run, and how the
approval sensor's ticks lay on the daemon's 5-second passes (`--long-poll 0` compares with
ticks that look once). The load average is printed before and after: on a shared machine it
explains much of the spread.
Run with `python -m accsync_pipeline.bench.latency` (`make bench-latency`).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import httpx
from dagster._core.events import DagsterEventType

from accsync_pipeline.connectors.settings import parse_settings
from accsync_pipeline.service import demo
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import source_rows
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade

SYNC_NOW_ORG = "hlf"  # Business Central sandbox; syncs on a schedule or on demand
APPROVAL_ORG = "blindeforbundet"  # Xledger sandbox; syncs on every approval
GOALS = {"sync now": 3.0, "approval": 5.0}  # seconds from the click (approval) to the first posting
POLL = 0.025
RUN_TIMEOUT = 120.0
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Sample:
    path: str
    clicked: float
    answered: float | None = None  # Sync Now: the API's answer
    posted: float | None = None
    run_id: str | None = None
    events: dict[str, float] = field(default_factory=dict)
    status: str = ""

    def at(self, event: DagsterEventType) -> float | None:
        return self.events.get(event.value)

    def milestones(self) -> dict[str, float | None]:
        def since(t: float | None) -> float | None:
            return None if t is None else t - self.clicked

        return {
            "started": since(self.at(DagsterEventType.RUN_START)),
            "first posted": since(self.posted),
            "finished": since(self.at(DagsterEventType.RUN_SUCCESS) or self.at(DagsterEventType.RUN_FAILURE)),
        }

    def phases(self) -> dict[str, float | None]:
        """Consecutive parts of click → first posted (they add up to it)."""
        enqueued = self.at(DagsterEventType.RUN_ENQUEUED)
        starting = self.at(DagsterEventType.RUN_STARTING)
        started = self.at(DagsterEventType.RUN_START)
        ended = self.at(DagsterEventType.RUN_SUCCESS) or self.at(DagsterEventType.RUN_FAILURE)

        def between(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else b - a

        first = "API (click → queued)" if self.path == "sync now" else "sensor (approval → queued)"
        return {
            first: between(self.clicked, enqueued),
            "queue wait (queued → launched)": between(enqueued, starting),
            "run worker start (launched → started)": between(starting, started),
            "export (started → first posted)": between(started, self.posted),
            "rest of run (first posted → finished)": between(self.posted, ended),
        }


class Stack:
    """`accsync run` in a temporary directory, and handles on what the benchmark needs of it."""

    def __init__(self, root: Path, long_poll: float | None = None) -> None:
        self.root = root
        self.long_poll = long_poll
        self.ports = {name: free_port() for name in ("dagster", "web", "xledger", "dynamics")}
        self.database_url = f"sqlite:///{root / '.accsync' / 'accsync.db'}"
        self.home = root / ".accsync" / "dagster"
        self.process: subprocess.Popen[str] | None = None
        self.engine = create_engine(self.database_url)
        self.http = httpx.Client(timeout=30)
        self.token = ""

    def prepare(self) -> None:
        """The demo data, with the demo orgs pointed at this stack's sandbox ports (not measured)."""
        upgrade(self.engine)
        with self.engine.begin() as conn:
            demo.seed(conn)
            for org in org_store.list_orgs(conn):
                settings = org.connector_settings.stored()
                port = self.ports["dynamics" if org.connector_type == "dynamics" else "xledger"]
                for key in ("base_url", "auth_url"):
                    if key in settings:
                        settings[key] = f"http://127.0.0.1:{port}"
                typed = parse_settings(org.connector_type, settings)
                org_store.update_org(conn, dataclasses.replace(org, connector_settings=typed))

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCSYNC_", "DAGSTER_"))}
        env["ACCSYNC_DATABASE_URL"] = self.database_url
        if self.long_poll is not None:  # compare with the approval sensor's wait shortened or off
            env["ACCSYNC_APPROVAL_LONG_POLL_SECONDS"] = str(self.long_poll)
        p = self.ports
        argv = [sys.executable, "-m", "accsync_pipeline.cli", "run", "--dagster-port", str(p["dagster"])]
        argv += ["--web-port", str(p["web"]), "--xledger-port", str(p["xledger"])]
        argv += ["--dynamics-port", str(p["dynamics"])]
        started = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            argv, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        lines = []
        for line in self.process.stdout:
            lines.append(line.rstrip())
            if line.startswith("ready."):
                break
        else:
            raise SystemExit("accsync run did not start:\n" + "\n".join(lines[-30:]))
        os.environ["DAGSTER_HOME"] = str(self.home)
        self.instance = dg.DagsterInstance.get()
        answer = self.http.post(self.web("/api/dev/login"), json={"user_id": "kari.admin"})
        answer.raise_for_status()
        self.token = answer.json()["token"]
        return f"{time.perf_counter() - started:.1f} s"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.engine.dispose()

    def web(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['web']}{path}"

    def postings(self, org_id: str) -> int:
        port = self.ports["dynamics" if org_id == SYNC_NOW_ORG else "xledger"]
        return int(self.http.get(f"http://127.0.0.1:{port}/_sandbox/stats").json()["postings"])

    def approve(self, org_id: str, count: int, serial: int) -> None:
        """`count` new exportable records approved now, modelled on the org's demo records."""
        with self.engine.begin() as conn:
            model = source_rows.exportable_source_row(conn, org_id)
            now = datetime.now(UTC)
            rows = []
            for i in range(count):
                row = dict(model)
                row.update(
                    record_id=f"BENCH-{org_id[:3].upper()}-{serial:04d}-{i}",
                    amount=Decimal("123.45") + i,
                    approved_at=now,
                    updated_at=now,
                    description="Reise, latency benchmark",
                )
                rows.append(row)
            source_rows.insert_source_rows(conn, rows)

    def approval_ticks(self) -> list[tuple[float, float]]:
        """(start, end) of the approval sensor's recent ticks, oldest first."""
        from dagster._core.scheduler.instigation import InstigatorType

        for state in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.instigator_name == "approval_sensor":
                ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=500)
                return sorted((t.timestamp, t.end_timestamp or t.timestamp) for t in ticks)
        return []

    def runs_of(self, org_id: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=dg.RunsFilter(tags={"accsync/org": org_id})))

    def wait_idle(self, org_id: str, at_least: int = 0, timeout: float = RUN_TIMEOUT) -> None:
        """Until the org has had `at_least` runs and none is queued or running (the demo's first syncs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs_of(org_id)
            if len(runs) >= at_least and all(r.status in TERMINAL for r in runs):
                return
            time.sleep(0.25)
        raise SystemExit(f"runs of {org_id} still active after {timeout:.0f} s")

    def follow(self, sample: Sample, org_id: str, before: int, known: set[str]) -> Sample:
        """Polls the ledger for the first posting, then waits for the run to end and reads its events."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while sample.posted is None and time.monotonic() < deadline:
            if self.postings(org_id) > before:
                sample.posted = time.time()
                break
            time.sleep(POLL)
        while sample.run_id is None and time.monotonic() < deadline:
            new = [r for r in self.runs_of(org_id) if r.run_id not in known]
            if new:
                sample.run_id = new[-1].run_id  # oldest new run
            else:
                time.sleep(0.1)
        while time.monotonic() < deadline:
            run = self.instance.get_run_by_id(sample.run_id) if sample.run_id else None
            if run is not None and run.status in TERMINAL:
                sample.status = run.status.value
                break
            time.sleep(0.1)
        if sample.run_id:
            for entry in self.instance.all_logs(sample.run_id):
                if entry.dagster_event is not None:
                    sample.events.setdefault(entry.dagster_event.event_type_value, entry.timestamp)
        return sample

    def sync_now(self, serial: int, records: int) -> Sample:
        self.approve(SYNC_NOW_ORG, records, serial)
        before = self.postings(SYNC_NOW_ORG)
        known = {r.run_id for r in self.runs_of(SYNC_NOW_ORG)}
        sample = Sample("sync now", clicked=time.time())
        answer = self.http.post(
            self.web(f"/api/orgs/{SYNC_NOW_ORG}/sync"), headers={"Authorization": f"Bearer {self.token}"}
        )
        sample.answered = time.time()
        answer.raise_for_status()
        return self.follow(sample, SYNC_NOW_ORG, before, known)

    def approval(self, serial: int, records: int) -> Sample:
        before = self.postings(APPROVAL_ORG)
        known = {r.run_id for r in self.runs_of(APPROVAL_ORG)}
        sample = Sample("approval", clicked=time.time())
        self.approve(APPROVAL_ORG, records, serial)
        return self.follow(sample, APPROVAL_ORG, before, known)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(samples: list[Sample]) -> bool:
    met = True
    for path in ("sync now", "approval"):
        ours = [s for s in samples if s.path == path]
        if not ours:
            continue
        failed = [s for s in ours if s.status != "SUCCESS" or s.posted is None]
        print(
            f"\n{path}: {len(ours)} samples"
            + (f", {len(failed)} without a posting or not SUCCESS" if failed else "")
        )
        print(f"  {'from the click to':40} {'median s':>9} {'p95 s':>7}")
        for name in ("started", "first posted", "finished"):
            values = [v for s in ours if (v := s.milestones()[name]) is not None]
            if values:
                print(f"  {name:40} {statistics.median(values):9.2f} {percentile(values, 0.95):7.2f}")
        print(f"  {'where the time goes':40} {'median s':>9} {'p95 s':>7}")
        for name in ours[0].phases():
            values = [v for s in ours if (v := s.phases()[name]) is not None]
            if values:
                print(f"  {name:40} {statistics.median(values):9.2f} {percentile(values, 0.95):7.2f}")
        posted = [v for s in ours if (v := s.milestones()["first posted"]) is not None]
        if posted:
            median = statistics.median(posted)
            ok = median <= GOALS[path] and not failed
            met = met and ok
            verdict = "ok" if ok else "MISSED"
            print(f"  goal: first posted median ≤ {GOALS[path]:.0f} s: {median:.2f} s {verdict}")
    return met


@contextmanager
def stack(keep: bool, long_poll: float | None) -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="accsync-bench-latency-"))
    running = Stack(root, long_poll)
    try:
        yield running
    finally:
        running.stop()
        if keep:
            print(f"state kept in {root}")
        else:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def report_ticks(ticks: list[tuple[float, float]], since: float) -> None:
    """How the approval sensor's ticks lie on the daemon's 5-second passes during the samples."""
    ours = [t for t in ticks if t[0] >= since]
    if len(ours) < 2:
        return
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(ours)]
    idle = [b[0] - a[1] for a, b in itertools.pairwise(ours)]  # nobody looking
    lengths = [end - start for start, end in ours]
    missed = sum(1 for g in gaps if g > 7.5)  # a pass found the previous tick still running
    print(
        f"\napproval sensor: {len(ours)} ticks, {missed} passes missed; tick length median "
        f"{statistics.median(lengths):.2f} s (p95 {percentile(lengths, 0.95):.2f}), "
        f"between one tick's end and the next one's start median {statistics.median(idle):.2f} s "
        f"(p95 {percentile(idle, 0.95):.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="Samples of each path (default 10).")
    parser.add_argument("--records", type=int, default=5, help="Records approved per sample (default 5).")
    parser.add_argument("--pause", type=float, default=1.0, help="Seconds between samples (default 1).")
    parser.add_argument(
        "--long-poll",
        type=float,
        metavar="SECONDS",
        help="How long an approval sensor tick waits for approvals (default: the sensor's; 0: look once).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the state directory (logs) afterwards.")
    args = parser.parse_args(argv)
    print(f"load average before: {load()} ({os.cpu_count()} CPUs)")
    samples: list[Sample] = []
    with stack(args.keep, args.long_poll) as s:
        s.prepare()
        print(f"accsync run ready in {s.start()}; state in {s.root}")
        # The demo's first syncs (Blindeforbundet on approval at start, HLF by a first Sync Now).
        s.wait_idle(APPROVAL_ORG, at_least=1)
        warm = s.sync_now(0, args.records)
        first = warm.milestones()["first posted"] or 0.0
        print(f"warm-up Sync Now: {warm.status}, first posted after {first:.2f} s")
        s.wait_idle(APPROVAL_ORG)
        since = time.time()
        for i in range(1, args.runs + 1):
            for take in (s.sync_now, s.approval):
                time.sleep(args.pause)
                sample = take(i, args.records)
                samples.append(sample)
                posted = sample.milestones()["first posted"]
                print(
                    f"  {sample.path:9} #{i:<3} {sample.status or 'NO RUN':8} first posted "
                    + (f"{posted:6.2f} s" if posted is not None else "  none")
                    + f"  load {load()}"
                )
        ticks = s.approval_ticks()
    met = report(samples)
    report_ticks(ticks, since)
    print(f"\nload average after: {load()} ({os.cpu_count()} CPUs)")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
