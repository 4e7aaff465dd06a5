"""The export's pipeline: batches queued behind the requests in flight, and the lookup windows."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import httpx
import pytest

from accsync_pipeline.connectors.base import ConnectionCheck, Outcome, Posted
from accsync_pipeline.connectors.batching import run_bounded
from accsync_pipeline.connectors.dynamics import DynamicsConnector
from accsync_pipeline.connectors.settings import DynamicsSettings
from accsync_pipeline.domain.records import ExportableRecord, LedgerKeys
from accsync_pipeline.sandbox.records import sample_records
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.export import looked_up_ahead
from accsync_pipeline_tests.sandbox_fixtures import FAST_RETRY, dynamics_settings


def test_queued_jobs_start_while_the_caller_is_still_drawing_the_next_one() -> None:
    """A slow draw (the next window of records being read) must not leave workers idle: the
    jobs queued behind the running ones were drawn ahead, and run meanwhile."""
    drawing_slowly = threading.Event()
    done: list[int] = []
    all_done = threading.Event()

    def jobs() -> Iterator[int]:
        yield from range(4)  # 2 running, 2 queued; job 0 ends at once, which calls for a fifth
        drawing_slowly.set()
        # Stuck here until the first four ran: only the pool can have started the queued ones.
        assert all_done.wait(2), "queued jobs waited for the caller's next draw"
        yield 4

    def work(job: int) -> list[int]:
        # Jobs 1-3 run only once the caller is stuck drawing the fifth.
        assert job in (0, 4) or drawing_slowly.wait(2), "jobs 1-3 were not drawn before job 0 ended"
        done.append(job)
        if len(done) == 4:
            all_done.set()
        return [job]

    assert sorted(run_bounded(work, jobs(), max_workers=2, queued=2)) == [0, 1, 2, 3, 4]


def test_at_most_max_workers_run_and_no_more_than_queued_are_drawn_ahead() -> None:
    running, peak, drawn_ahead = 0, 0, 0
    lock = threading.Lock()
    drawn = 0
    finished = 0

    def jobs() -> Iterator[int]:
        nonlocal drawn, drawn_ahead
        for job in range(40):
            with lock:
                drawn += 1
                drawn_ahead = max(drawn_ahead, drawn - finished)
            yield job

    def work(job: int) -> list[int]:
        nonlocal running, peak, finished
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.002)
        with lock:
            running -= 1
            finished += 1
        return [job]

    assert sorted(run_bounded(work, jobs(), max_workers=3, queued=2)) == list(range(40))
    assert peak <= 3
    assert drawn_ahead <= 3 + 2  # memory: the jobs running plus those queued


def test_after_a_job_fails_no_queued_job_starts_and_finished_results_still_come() -> None:
    started: list[int] = []
    second_running = threading.Event()
    first_failed = threading.Event()

    def work(job: int) -> list[int]:
        started.append(job)
        if job == 0:
            assert second_running.wait(5)
            first_failed.set()
            raise RuntimeError("refused")
        if job == 1:  # in flight when job 0 fails: it finishes, and its result is yielded
            second_running.set()
            assert first_failed.wait(5)
        return [job]

    results: list[int] = []
    with pytest.raises(RuntimeError, match="refused"):
        for result in run_bounded(work, iter(range(20)), max_workers=2, queued=4):
            results.append(result)
    assert results == [1]
    assert sorted(started) == [0, 1], "a job queued behind the failure was sent"


class LookupRecorder:
    """A Connector whose ledger holds the records in `held`; it notes every lookup it answers."""

    name = "recorder"
    first_lookup_windows = DynamicsConnector.first_lookup_windows

    def __init__(self, held: set[str]) -> None:
        self.held = held
        self.lookups: list[list[str]] = []
        self._lock = threading.Lock()

    def lookup(self, records: Sequence[LedgerKeys]) -> dict[str, str]:
        with self._lock:
            self.lookups.append([r.record_id for r in records])
        return {r.record_id: f"ledger-{r.record_id}" for r in records if r.record_id in self.held}

    def export(self, records: object) -> Iterator[Outcome]:
        raise NotImplementedError

    def ledger_holdings(self) -> Iterator[object]:
        raise NotImplementedError

    def test_connection(self) -> ConnectionCheck:
        raise NotImplementedError

    def close(self) -> None:
        pass


class WholeWindows(LookupRecorder):
    """A connector without first lookup windows, as Xledger (one query asks for a window)."""

    first_lookup_windows = ()


def test_a_connector_without_first_windows_looks_each_chunk_up_whole() -> None:
    records = list(sample_records(2 * 2500 + 300, may_hold_legacy_keys=False))
    ledger = WholeWindows(held=set())
    seen = [r.record_id for window, _ in looked_up_ahead(ledger, windows_of(records, 2500)) for r in window]  # type: ignore[arg-type]
    assert seen == [r.record_id for r in records]
    assert [len(lookup) for lookup in ledger.lookups] == [2500, 2500, 300]


def windows_of(records: list[ExportableRecord], size: int) -> Iterator[list[ExportableRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def test_the_first_windows_are_looked_up_alone_and_every_record_once_before_it_is_yielded() -> None:
    records = list(sample_records(2 * 2500 + 300, may_hold_legacy_keys=False))
    ledger = LookupRecorder(held={"r5", "r2600"})
    seen: list[str] = []
    for window, in_ledger in looked_up_ahead(ledger, windows_of(records, 2500)):  # type: ignore[arg-type]
        ids = [r.record_id for r in window]
        looked_up = {rid for lookup in ledger.lookups for rid in lookup}
        assert set(ids) <= looked_up, "a record was yielded before its lookup answered"
        assert in_ledger == {rid: f"ledger-{rid}" for rid in ids if rid in ledger.held}
        seen.extend(ids)
    assert seen == [r.record_id for r in records]
    small = list(DynamicsConnector.first_lookup_windows)
    assert [len(lookup) for lookup in ledger.lookups] == [*small, 2500 - sum(small), 2500, 300]
    assert sorted(rid for lookup in ledger.lookups for rid in lookup) == sorted(seen), "looked up twice"


FIRST = DynamicsConnector.first_lookup_windows[0]


@pytest.mark.parametrize("count", [0, 1, FIRST, FIRST + 1, 2499])
def test_a_short_run_is_looked_up_whole_without_empty_lookups(count: int) -> None:
    records = list(sample_records(count, may_hold_legacy_keys=False))
    ledger = LookupRecorder(held=set())
    seen = [r.record_id for window, _ in looked_up_ahead(ledger, windows_of(records, 2500)) for r in window]  # type: ignore[arg-type]
    assert seen == [r.record_id for r in records]
    assert all(ledger.lookups) and sum(len(lookup) for lookup in ledger.lookups) == count


class CountingTransport(httpx.HTTPTransport):
    """Counts the posting `$batch` requests on the wire at once (sent, answer not yet read)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        posting = request.url.path.endswith("/$batch") and b'"method":"POST"' in request.read()
        if posting:
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
        try:
            response = super().handle_request(request)
            response.read()
            return response
        finally:
            if posting:
                with self._lock:
                    self.in_flight -= 1


def test_business_central_postings_in_flight_never_exceed_its_concurrency(
    dynamics_sandbox: RunningSandbox,
) -> None:
    """The export runs a thread more than postings may be in flight, so that the next batch goes
    out as an answer comes in; the requests on the wire stay within `max_concurrency`."""
    dynamics_sandbox.set_faults(latency_ms=20)
    transport = CountingTransport()
    settings = DynamicsSettings.model_validate(dynamics_settings(dynamics_sandbox, max_concurrency=3))
    bc = DynamicsConnector(settings, transport=transport, retry=FAST_RETRY)
    outcomes = list(bc.export(sample_records(1500, may_hold_legacy_keys=False)))
    bc.close()
    assert len(outcomes) == 1500 and all(isinstance(o, Posted) for o in outcomes)
    assert transport.peak == 3, f"{transport.peak} postings in flight at once"
