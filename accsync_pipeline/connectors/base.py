"""The interface every accounting-system connector implements, and the outcomes it reports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from accsync_pipeline.domain.reconcile import Holding
from accsync_pipeline.domain.records import ExportableRecord, LedgerKeys


@dataclass(frozen=True)
class Posted:
    """The record is in the ledger; `external_id` is the accounting system's id for it."""

    record_id: str
    idempotency_key: str
    external_id: str
    found_by_lookup: bool = False


@dataclass(frozen=True)
class Rejected:
    """The accounting system refused the record; retrying it unchanged will not help."""

    record_id: str
    idempotency_key: str
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class TransientFailure:
    """This record's request failed in a way that may pass later (throttled, 5xx); not posted."""

    record_id: str
    idempotency_key: str
    reason: str


Outcome = Posted | Rejected | TransientFailure


@dataclass(frozen=True)
class ConnectionCheck:
    """Answer of `test_connection`: ok, and one line a person can act on.

    `warning` is set when the connection works but something may still go wrong (it is
    also part of `message`, for screens that show only that).
    """

    ok: bool
    message: str
    warning: str | None = None


class Connector(Protocol):
    """What the pipeline needs from an accounting system.

    `export` streams: it consumes `records` lazily, fills each request to the system's
    maximum, runs a bounded number of requests at once, and yields one outcome per record
    as soon as it is known. A whole-request transient failure that persists after the
    connector's own bounded retries raises `RetriableError`; ambiguous failures are first
    resolved by idempotency-key lookup, so no record is ever posted twice.
    """

    name: str

    def export(self, records: Iterable[ExportableRecord]) -> Iterator[Outcome]: ...

    def lookup(self, records: Sequence[LedgerKeys]) -> dict[str, str]:
        """Map the `record_id` of each record already in the ledger to the system's id.

        Records absent from the answer are not in the ledger. Every place the ledger may
        hold a record is searched (Business Central: journal lines and posted entries).
        Keys are matched without regard to case; whatever else the ledger answers (keys
        not asked for, in another case, on several pages) is ignored, never a crash.
        Efficient for thousands of records per call: the export looks every record up
        before its first send, so that a restored database never causes a second posting.
        """
        ...

    def ledger_holdings(self) -> Iterator[Holding]:
        """Everything the ledger holds under accsync's keys, for reconciliation.

        One `Holding` per key and place, with how many postings (not lines or entries) carry
        it. Filtered by accsync's key prefixes on the server where the system allows and again
        here (a filter may be ignored), compared without regard to case. A few requests per
        org: it runs after every sync and daily.
        """
        ...

    def test_connection(self) -> ConnectionCheck: ...

    def close(self) -> None: ...
