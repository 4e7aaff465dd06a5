"""What both connectors do around their own requests: the export shell, the read-retry loop, dates.

A connector says how to post one batch until each of its records has an outcome; the shell
streams the records into batches, runs a bounded number of them at once, prepares the next
batch while the others are in flight, and keeps the outcomes of a batch that failed part-way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from accsync_pipeline.connectors.base import Outcome
from accsync_pipeline.connectors.batching import PartialFailure, RetryPolicy, chunked, run_bounded
from accsync_pipeline.connectors.errors import ConnectorError, RetriableError
from accsync_pipeline.domain.org import DEFAULT_TIMEZONE
from accsync_pipeline.domain.records import ExportableRecord

Batch = TypeVar("Batch")
T = TypeVar("T")

# Where an org keeps its books unless its configuration says otherwise (`OrgConfig.timezone`).
DEFAULT_BOOKKEEPING_TIMEZONE = DEFAULT_TIMEZONE


def posting_date(approved_at: datetime, bookkeeping_timezone: ZoneInfo) -> date:
    """The calendar day of the approval where the org keeps its books: the ledger's posting date."""
    return approved_at.astimezone(bookkeeping_timezone).date()


def export_in_batches(
    records: Iterable[ExportableRecord],
    *,
    batch_size: int,
    max_concurrency: int,
    prepare: Callable[[list[ExportableRecord]], Batch],
    post_until_settled: Callable[[Batch, list[Outcome]], None],
    queued: int = 1,
) -> Iterator[Outcome]:
    """`Connector.export` for a connector that posts records in batches.

    `prepare` turns a list of records into what `post_until_settled` sends (its request
    body, for instance); it runs on the caller's thread one batch ahead, while the requests
    in flight wait for their answers. `post_until_settled` appends one outcome per record
    of the batch; when it raises a ConnectorError, the outcomes it already appended are
    yielded before the error goes up. `queued` batches wait ready behind those in flight
    (`run_bounded`).
    """

    def export_batch(batch: Batch) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            post_until_settled(batch, outcomes)
        except ConnectorError as e:
            raise PartialFailure(list(outcomes), e) from e
        return outcomes

    batches = (prepare(chunk) for chunk in chunked(records, batch_size))
    return run_bounded(export_batch, batches, max_concurrency, queued)


class ReadRetry:
    """The retry loop of reads: a read is safe to repeat, whether its failure was ambiguous or not.

    One instance is one budget (`RetryPolicy.attempts`): a read of several pages shares it
    across its pages, so a ledger that keeps failing ends the read instead of each page
    getting a budget of its own.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.failures = 0

    def read(self, attempt: Callable[[], T], on_failure: Callable[[RetriableError], None] | None = None) -> T:
        """`attempt()`'s answer, trying again after each RetriableError within the budget.

        `on_failure` sees each error after the wait, before the next try (to ask for less).
        """
        while True:
            try:
                return attempt()
            except RetriableError as e:
                self.failures += 1
                self._policy.wait_or_raise(e, self.failures)
                if on_failure is not None:
                    on_failure(e)
