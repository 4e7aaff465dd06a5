"""Export throughput and memory of both connectors against their sandboxes under documented limits.

Each sandbox runs in its own process with a fixed latency per request; each measured
export runs in a fresh worker process so that its peak RSS is its own. Records approved after
the upgrade to the current keys are the normal case and the target; 50,000 approved before it,
looked up under their legacy keys too, are measured beside them. Run with
`python -m accsync_pipeline.bench.export`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from accsync_pipeline.connectors.base import Connector, Posted
from accsync_pipeline.connectors.batching import chunked
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.domain.legacy_keys import may_hold_legacy_keys
from accsync_pipeline.domain.records import ExportableRecord
from accsync_pipeline.sandbox.dynamics import DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_ID, DEFAULT_JOURNAL_ID
from accsync_pipeline.sandbox.records import SAMPLE_APPROVED_AT, sample_records
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN
from accsync_pipeline.service.export import LOOKUP_WINDOW, looked_up_ahead

LATENCY_MS = 50
SIZES = (10_000, 50_000)
NAIVE_RECORDS = 100
# Xledger publishes throttling codes but not numbers: we assume a burst of 10 requests refilled at 10/s.
XLEDGER_BURST_PER_SECOND = 10
XLEDGER_MAX_CONCURRENT = 5
XLEDGER_RECORDS_PER_REQUEST = 250  # 500 inputs, two lines per record
BC_WINDOW_REQUESTS, BC_WINDOW_SECONDS, BC_MAX_CONCURRENT, BC_RECORDS_PER_REQUEST = 6000, 300, 5, 100
# The database's mark of the current key scheme (`domain.legacy_keys`), either side of the sample
# records' approval: the normal case is records approved after the upgrade (no legacy lookups);
# records approved before it are looked up under their legacy keys too.
KEYS_SINCE = {
    "after": SAMPLE_APPROVED_AT - timedelta(days=7),
    "before": SAMPLE_APPROVED_AT + timedelta(days=7),
}


@dataclass(frozen=True)
class Measured:
    records: int
    posted: int
    seconds: float
    peak_rss_mib: float
    requests: int = 0  # every API request the sandbox answered, lookups included
    postings_requests: int = 0  # of which requests that posted
    approved: str = "after"  # the upgrade to the current keys (`KEYS_SINCE`)

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def settings_for(system: str, base_url: str, naive: bool) -> dict[str, Any]:
    concurrency = 1 if naive else None
    if system == "xledger":
        os.environ["ACCSYNC_BENCH_XLEDGER_TOKEN"] = DEFAULT_TOKEN
        return {
            "base_url": base_url,
            "token_env": "ACCSYNC_BENCH_XLEDGER_TOKEN",
            "max_concurrency": concurrency or XLEDGER_MAX_CONCURRENT,
            "requests_per_second": XLEDGER_BURST_PER_SECOND,
        }
    os.environ["ACCSYNC_BENCH_BC_SECRET"] = DEFAULT_CLIENT_SECRET
    return {
        "base_url": base_url,
        "auth_url": base_url,
        "tenant": "sandbox-tenant",
        "company_id": DEFAULT_COMPANY_ID,
        "journal_id": DEFAULT_JOURNAL_ID,
        "client_id": "accsync-sandbox",
        "client_secret_env": "ACCSYNC_BENCH_BC_SECRET",
        "max_concurrency": concurrency or BC_MAX_CONCURRENT,
    }


def looked_up_first(connector: Connector, records: Iterable[ExportableRecord]) -> Iterator[ExportableRecord]:
    """What a sync does: each window of records is looked up in the ledger before any is sent."""
    for window, in_ledger in looked_up_ahead(connector, chunked(records, LOOKUP_WINDOW)):
        yield from (record for record in window if record.record_id not in in_ledger)


def worker(system: str, base_url: str, count: int, naive: bool, approved: str) -> None:
    """Export `count` generated records and print one JSON line with the figures."""
    connector = connector_for(system, settings_for(system, base_url, naive))
    # The export's rule, once: every sample record has the same approval time.
    legacy = may_hold_legacy_keys(SAMPLE_APPROVED_AT, KEYS_SINCE[approved])
    # The first window of records is generated before the clock starts: making up records is the
    # benchmark's work, not the export's (the rest are generated while requests are in flight,
    # as a sync reads its next chunk; generating them all ahead would hide the export's memory).
    generated = sample_records(count, may_hold_legacy_keys=legacy)
    first = list(itertools.islice(generated, LOOKUP_WINDOW))
    started = time.perf_counter()
    posted = 0
    if naive:  # one record per request, one request at a time, no lookup
        for record in itertools.chain(first, generated):
            posted += sum(isinstance(o, Posted) for o in connector.export([record]))
    else:
        records = itertools.chain(first, generated)
        outcomes = connector.export(looked_up_first(connector, records))
        posted = sum(isinstance(o, Posted) for o in outcomes)
    seconds = time.perf_counter() - started
    connector.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"records": count, "posted": posted, "seconds": seconds, "peak_rss_mib": peak_kib / 1024})
    )


def measure(system: str, base_url: str, count: int, naive: bool = False, approved: str = "after") -> Measured:
    httpx.post(f"{base_url}/_sandbox/reset").raise_for_status()
    httpx.post(f"{base_url}/_sandbox/faults", json={"latency_ms": LATENCY_MS}).raise_for_status()
    command = [
        sys.executable,
        "-m",
        "accsync_pipeline.bench.export",
        "--worker",
        system,
        base_url,
        str(count),
        "--approved",
        approved,
    ]
    output = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [*command, *(["--naive"] if naive else [])], check=True, capture_output=True, text=True
    )
    stats = httpx.get(f"{base_url}/_sandbox/stats").json()
    result = Measured(
        **json.loads(output.stdout.strip().splitlines()[-1]),
        requests=stats["requests"],
        postings_requests=stats["postings_requests"],
        approved=approved,
    )
    lines = stats["postings"]
    per_record = 2 if system == "xledger" else 1
    if result.posted != count or lines != count * per_record:
        raise SystemExit(
            f"{system}: expected {count} records posted once, got {result.posted} ({lines} lines)"
        )
    return result


def ceiling(system: str, records: int) -> tuple[float, str]:
    """Records per second the limits allow for a run of `records`, and which limit binds."""
    latency = LATENCY_MS / 1000
    if system == "xledger":
        by_burst = XLEDGER_BURST_PER_SECOND * XLEDGER_RECORDS_PER_REQUEST
        by_concurrency = XLEDGER_MAX_CONCURRENT * XLEDGER_RECORDS_PER_REQUEST / latency
        return min(by_burst, by_concurrency), "burst" if by_burst <= by_concurrency else "concurrency"
    requests = math.ceil(records / BC_RECORDS_PER_REQUEST)
    by_concurrency_seconds = requests / BC_MAX_CONCURRENT * latency
    # Whole windows the run must wait through; a run within one window is bound by concurrency only.
    by_window_seconds = (math.ceil(requests / BC_WINDOW_REQUESTS) - 1) * BC_WINDOW_SECONDS
    seconds = max(by_concurrency_seconds, by_window_seconds)
    return records / seconds, "concurrency" if by_concurrency_seconds >= by_window_seconds else "window"


def start_sandbox(system: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limits = (
        ["--burst", str(XLEDGER_BURST_PER_SECOND), "--burst-per-second", str(XLEDGER_BURST_PER_SECOND)]
        if system == "xledger"
        else ["--requests-per-window", str(BC_WINDOW_REQUESTS), "--window-seconds", str(BC_WINDOW_SECONDS)]
    )
    command = [sys.executable, "-m", "accsync_pipeline.sandbox", system, "--port", str(port), *limits]
    # Our own module with fixed arguments.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base_url}/_sandbox/stats").raise_for_status()
            return process, base_url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the {system} sandbox did not start")


def report(system: str) -> bool:
    process, base_url = start_sandbox(system)
    try:
        runs = [measure(system, base_url, size) for size in SIZES]
        before_upgrade = measure(system, base_url, SIZES[-1], approved="before")
        naive = measure(system, base_url, NAIVE_RECORDS, naive=True)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"\n{system} (latency {LATENCY_MS} ms per request)")
    met = True
    for run in [*runs, before_upgrade]:
        limit, binding = ceiling(system, run.records)
        ratio = run.rate / limit
        # The target is the normal case; records from before the upgrade are shown beside it.
        met = met and (ratio >= 0.8 or run.approved == "before")
        label = "after the upgrade" if run.approved == "after" else "from before it (legacy keys)"
        print(
            f"  {run.records:>6} records {label}: {run.seconds:6.1f} s  {run.rate:8.0f} records/s  "
            f"ceiling {limit:6.0f}/s ({binding})  {ratio:5.0%}  peak RSS {run.peak_rss_mib:.0f} MiB  "
            f"{run.requests} requests ({run.postings_requests} posting, "
            f"{run.requests - run.postings_requests} lookup)"
        )
    naive_limit = 1000 / LATENCY_MS
    if system == "xledger":  # the paced client never exceeds the burst rate
        naive_limit = min(naive_limit, XLEDGER_BURST_PER_SECOND)
    print(
        f"  naive, one record per request, sequential ({naive.records} records, extrapolates linearly): "
        f"{naive.rate:.0f} records/s, ceiling {naive_limit:.0f}/s; "
        f"batched is {runs[-1].rate / naive.rate:.0f}x faster"
    )
    growth = runs[-1].peak_rss_mib - runs[0].peak_rss_mib
    print(f"  memory from {SIZES[0]} to {SIZES[-1]} records: {growth:+.1f} MiB")
    if system == "dynamics":
        sustained = BC_WINDOW_REQUESTS / BC_WINDOW_SECONDS * BC_RECORDS_PER_REQUEST
        print(f"  beyond one 5-minute window the request window binds: {sustained:.0f} records/s sustained")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", nargs=3, metavar=("SYSTEM", "BASE_URL", "COUNT"))
    parser.add_argument("--naive", action="store_true")
    parser.add_argument("--approved", choices=tuple(KEYS_SINCE), default="after")
    parser.add_argument("--only", choices=("xledger", "dynamics"))
    args = parser.parse_args()
    if args.worker:
        system, base_url, count = args.worker
        worker(system, base_url, int(count), args.naive, args.approved)
        return
    # Sandbox and exporter share this machine's cores with whatever else runs: say how busy it was.
    before = os.getloadavg()
    results = [report(system) for system in ("xledger", "dynamics") if args.only in (None, system)]
    print(
        "\ntarget (>= 80% of the ceiling, records approved after the upgrade):",
        "met" if all(results) else "NOT met",
    )
    after = os.getloadavg()
    print(f"load average (1 min) {before[0]:.2f} before, {after[0]:.2f} after, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
