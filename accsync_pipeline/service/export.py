"""One org's export: recover what a crash left in flight, then stream the queue through the connector.

Order of writes is what makes a crash safe: a record is committed as in flight before it
leaves, and its outcome is committed after the accounting system answered. A record found
in flight at the start of a run is resolved by idempotency lookup before anything is sent.
"""

from __future__ import annotations

import queue as queue_module
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.base import Connector, Outcome, Posted, Rejected, TransientFailure
from accsync_pipeline.connectors.errors import ConnectorError
from accsync_pipeline.domain.backoff import next_attempt_at
from accsync_pipeline.domain.legacy_keys import may_hold_legacy_keys
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.records import ExportableRecord, SyncStatus, ledger_keys
from accsync_pipeline.domain.validation import skip_for, to_exportable
from accsync_pipeline.store import ledger_key_schemes, queue
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.records import RecordResult

# Records read from the database at a time, and looked up in the ledger together before any
# of them is sent: bounds memory, and makes one lookup request cover many posting requests.
CHUNK_SIZE = 2500
LOOKUP_WINDOW = CHUNK_SIZE
FLUSH_EVERY = 500  # outcomes written per transaction
FLUSH_SECONDS = 1.0  # ...or at least this often, so that progress moves
MAX_WAITING_FLUSHES = 4  # handed to the writing thread and not yet committed

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ExportSummary:
    """What one run did for one record type (or all), for the run's metadata and the sync log."""

    exported: int = 0
    recovered: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, result: RecordResult) -> None:
        if result.status == SyncStatus.EXPORTED:
            self.exported += 1
            self.recovered += int(result.recovered)
        elif result.status == SyncStatus.SKIPPED:
            self.skipped.append((result.record_id, result.skip_reason or ""))
        else:
            self.failed.append((result.record_id, result.error or ""))


@dataclass
class RunContext:
    """Where the results of this export go: which run, launched how."""

    run_id: str
    trigger: str
    clock: Clock = utc_now


class ResultWriter:
    """Buffers outcomes and writes them in small transactions, with the run's progress.

    The writes run on a thread of their own, in the order handed over, so that the connector
    goes on sending while a flush commits (on a busy database most of an export's time was the
    sender waiting for its own writes). At most `MAX_WAITING_FLUSHES` wait, which keeps memory
    flat: a faster sender then waits. `flush()` returns once every outcome so far is committed,
    and raises the error of a write that failed; `close()` ends the thread.
    """

    def __init__(self, engine: Engine, run: RunContext, summaries: dict[str, ExportSummary]) -> None:
        self._engine = engine
        self._run = run
        self._summaries = summaries
        self._pending: list[tuple[str, RecordResult]] = []
        self._last_flush = time.monotonic()
        self._handed: queue_module.Queue[list[tuple[str, RecordResult]] | None] = queue_module.Queue(
            MAX_WAITING_FLUSHES
        )
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add(self, record_type: str, result: RecordResult) -> None:
        self._pending.append((record_type, result))
        if len(self._pending) >= FLUSH_EVERY or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self._hand_over()

    def flush(self) -> None:
        """Write every outcome added so far, and wait until they are committed."""
        self._hand_over()
        self._handed.join()
        self._raise_failure()

    def close(self) -> None:
        """Stop the writing thread (after what it holds); outcomes not handed over are not written."""
        if self._thread is not None:
            self._handed.put(None)
            self._thread.join()
            self._thread = None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _hand_over(self) -> None:
        self._raise_failure()
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._write_handed, name="accsync-result-writer", daemon=True
            )
            self._thread.start()
        self._handed.put(self._pending)
        self._pending = []

    def _write_handed(self) -> None:
        while True:
            batch = self._handed.get()
            try:
                if batch is None:
                    return
                if self._failure is None:  # after a failed write, later outcomes wait for recovery
                    self._write(batch)
            except BaseException as e:  # handed to the exporting thread by flush() or add()
                self._failure = e
            finally:
                self._handed.task_done()

    def _write(self, batch: list[tuple[str, RecordResult]]) -> None:
        results = [r for _, r in batch]
        counts = {s: sum(1 for r in results if r.status == s) for s in SyncStatus}
        with self._engine.begin() as conn:
            record_store.write_results(conn, results, self._run.run_id, self._run.trigger, self._run.clock())
            run_store.add_progress(
                conn,
                self._run.run_id,
                exported=counts[SyncStatus.EXPORTED],
                skipped=counts[SyncStatus.SKIPPED],
                failed=counts[SyncStatus.FAILED],
            )
        for record_type, result in batch:
            self._summaries.setdefault(record_type, ExportSummary()).add(result)


def recover_in_flight(
    engine: Engine,
    connector: Connector,
    org: OrgConfig,
    writer: ResultWriter,
    clock: Clock,
    current_keys_since: datetime | None = None,
) -> int:
    """Resolve records a crashed run left in flight: in the ledger → exported; absent → pending again.

    Legacy keys are asked for the records `may_hold_legacy_keys` names (all, without a mark).
    """
    with engine.connect() as conn:
        in_flight = queue.in_flight_approvals(conn, org.org_id)
    ids = sorted(in_flight)
    for start in range(0, len(ids), LOOKUP_WINDOW):
        batch = ids[start : start + LOOKUP_WINDOW]
        legacy = {rid: may_hold_legacy_keys(in_flight[rid][1], current_keys_since) for rid in batch}
        found = connector.lookup([ledger_keys(org.org_id, rid, legacy=legacy[rid]) for rid in batch])
        for rid in batch:
            if rid in found:
                result = RecordResult(
                    rid, org.org_id, SyncStatus.EXPORTED, external_id=found[rid], recovered=True
                )
                writer.add(in_flight[rid][0], result)
        writer.flush()
        absent = [rid for rid in batch if rid not in found]
        with engine.begin() as conn:
            record_store.return_to_pending(conn, absent, clock())
    return len(ids)


def already_in_ledger(connector: Connector, records: Sequence[ExportableRecord]) -> dict[str, str]:
    """record_id → ledger id of the records the ledger already holds; the rest may be sent.

    Every record is looked up before it is sent, not only after an ambiguous failure: a
    database restored from an older backup shows records as pending that the ledger holds,
    and only the ledger can tell. Lookups go in windows of thousands of records, so this
    costs one request for many postings.
    """
    if not records:
        return {}
    found = connector.lookup([record.ledger_keys for record in records])
    wanted = {record.record_id for record in records}
    return {rid: external_id for rid, external_id in found.items() if rid in wanted}


def looked_up_ahead(
    connector: Connector, chunks: Iterable[list[ExportableRecord]]
) -> Iterator[tuple[list[ExportableRecord], dict[str, str]]]:
    """Each chunk with what the ledger already holds of it, the next chunk's lookup under way.

    The lookup of chunk k+1 runs in its own thread while chunk k is being sent, so the
    lookup before every send costs the export next to nothing in time. Chunks are read
    (and marked in flight) one ahead of the one being sent. A connector may have the first
    chunk looked up in parts (its `first_lookup_windows`, record counts): sending then starts
    after one small lookup request instead of a whole window's, and the rest is looked up
    meanwhile. Xledger has none: one query of its asks for a whole window, and each one more
    waits for its request rate.
    """
    sizes: Sequence[int] = getattr(connector, "first_lookup_windows", ())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lookup") as lookups:
        ahead: tuple[list[ExportableRecord], Future[dict[str, str]]] | None = None
        for chunk in _first_split(chunks, sizes):
            looking = (chunk, lookups.submit(already_in_ledger, connector, chunk))
            if ahead is not None:
                yield ahead[0], ahead[1].result()
            ahead = looking
        if ahead is not None:
            yield ahead[0], ahead[1].result()


def _first_split(
    chunks: Iterable[list[ExportableRecord]], sizes: Sequence[int]
) -> Iterator[list[ExportableRecord]]:
    """The chunks, the first one cut after each of `sizes` records; none lost or repeated."""
    iterator = iter(chunks)
    first = next(iterator, None)
    if first is None:
        return
    start = 0
    for size in sizes:
        if first[start : start + size]:
            yield first[start : start + size]
        start += size
    if first[start:]:
        yield first[start:]
    yield from iterator


def _outcome_to_result(outcome: Outcome, org: OrgConfig, prior_failures: int, now: datetime) -> RecordResult:
    if isinstance(outcome, Posted):
        return RecordResult(
            outcome.record_id,
            org.org_id,
            SyncStatus.EXPORTED,
            external_id=outcome.external_id,
            recovered=outcome.found_by_lookup,
        )
    if isinstance(outcome, Rejected):
        # A rejection will not pass unchanged: no automatic retry; an edit in the app or a
        # manual retry queues it again.
        return RecordResult(
            outcome.record_id, org.org_id, SyncStatus.FAILED, error=outcome.reason, error_code=outcome.code
        )
    assert isinstance(outcome, TransientFailure)
    due = next_attempt_at(now, prior_failures + 1, org.auto_retry.base_seconds, org.auto_retry.max_seconds)
    return RecordResult(
        outcome.record_id, org.org_id, SyncStatus.FAILED, error=outcome.reason, next_attempt_at=due
    )


def export_org(
    engine: Engine,
    connector: Connector,
    org: OrgConfig,
    run: RunContext,
    record_types: Sequence[str],
    record_ids: Sequence[str] | None = None,
) -> dict[str, ExportSummary]:
    """Export the org's queued records of `record_types` (only `record_ids`, when given).

    Returns a summary per record type. A `ConnectorError` that ends the export early is
    raised after every outcome known so far has been written.
    """
    summaries: dict[str, ExportSummary] = {t: ExportSummary() for t in record_types}
    writer = ResultWriter(engine, run, summaries)
    try:
        _export_with(writer, engine, connector, org, run, record_types, record_ids)
    finally:
        writer.close()
    return summaries


def _export_with(
    writer: ResultWriter,
    engine: Engine,
    connector: Connector,
    org: OrgConfig,
    run: RunContext,
    record_types: Sequence[str],
    record_ids: Sequence[str] | None,
) -> None:
    with engine.begin() as conn:
        queue.intake(conn, org.org_id, run.clock())
        # Records approved well after this mark were never sent under legacy keys: their
        # lookups ask for the current keys only (half the Business Central lookup requests).
        keys_since = ledger_key_schemes.current_keys_since(conn)
    recover_in_flight(engine, connector, org, writer, run.clock, keys_since)
    with engine.begin() as conn:
        queued = sum(queue.count_queue(conn, org.org_id, run.clock(), record_types, record_ids).values())
        run_store.add_to_total(conn, run.run_id, queued)

    record_type_of: dict[str, str] = {}
    consecutive: dict[str, int] = {}

    def ready_chunks() -> Iterator[list[ExportableRecord]]:
        """Reads the queue chunk by chunk; skips are written here, exportables marked in flight."""
        after = ""
        while True:
            now = run.clock()
            with engine.connect() as conn:
                chunk = queue.read_queue(conn, org.org_id, now, after, CHUNK_SIZE, record_types, record_ids)
            if not chunk:
                return
            after = chunk[-1].record.record_id
            ready = []
            for queued in chunk:
                record = queued.record
                skip = skip_for(record, org.record_types)
                if skip:
                    writer.add(
                        record.record_type,
                        RecordResult(
                            record.record_id,
                            org.org_id,
                            SyncStatus.SKIPPED,
                            skip_reason=skip.reason,
                            skip_code=skip.code,
                        ),
                    )
                else:
                    approved = min(record.approved_at, queued.first_approved_at or record.approved_at)
                    legacy = may_hold_legacy_keys(approved, keys_since)
                    ready.append(to_exportable(record, may_hold_legacy_keys=legacy))
                    consecutive[record.record_id] = queued.prior_failures
            writer.flush()
            with engine.begin() as conn:
                ids = [r.record_id for r in ready]
                record_store.mark_in_flight(conn, ids, run.run_id, now)
            yield ready

    def exportable_stream() -> Iterator[ExportableRecord]:
        """Records to send: each chunk looked up first, found ones written as exported here."""
        for ready, in_ledger in looked_up_ahead(connector, ready_chunks()):
            for exportable in ready:
                rid = exportable.record_id
                if rid in in_ledger:
                    posted = Posted(rid, exportable.idempotency_key, in_ledger[rid], found_by_lookup=True)
                    consecutive.pop(rid, None)
                    writer.add(exportable.record_type, _outcome_to_result(posted, org, 0, run.clock()))
                else:
                    record_type_of[rid] = exportable.record_type
            writer.flush()
            yield from (r for r in ready if r.record_id not in in_ledger)

    try:
        for outcome in connector.export(exportable_stream()):
            prior = consecutive.pop(outcome.record_id, 0)
            result = _outcome_to_result(outcome, org, prior, run.clock())
            writer.add(record_type_of.pop(outcome.record_id), result)
    except ConnectorError:
        writer.flush()
        raise
    writer.flush()
