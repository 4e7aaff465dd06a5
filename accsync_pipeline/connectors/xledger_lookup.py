"""Finding GL import lines by `extIdentifier`: the query, its pages, and a forgiving parser.

Paging follows Xledger's help centre ("GraphQL pagination") and xledger/graphql-samples:
every edge carries a `cursor` and `pageInfo.hasNextPage` says whether to go on;
`pageInfo.endCursor` is unverified, so the next page starts after the last edge's cursor.
At most 10,000 records per query. Whether the `extIdentifier_in` filter compares with or
without case, or is honoured at all, is unverified: keys are compared here without regard
to case, and whatever else the answer holds is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from accsync_pipeline.connectors.batching import RetryPolicy, chunked
from accsync_pipeline.connectors.errors import AmbiguousError, FatalError, RetriableError
from accsync_pipeline.connectors.shell import ReadRetry
from accsync_pipeline.connectors.xledger_errors import GraphQLAnswer

MAX_RECORDS_PER_QUERY = 10_000
# Two lines a record, under its current key or its legacy one (`LedgerKeys`), not both: the
# 5,000 keys of 2,500 records fill half a page, leaving room for a few duplicates and for
# items the filter lets through, so a window of 2,500 records is one request.
KEYS_PER_QUERY = 5_000
# A page that keeps timing out is asked for again in halves, down to this size.
MIN_PAGE_SIZE = 500
# More pages than this for one set of keys means the paging does not end.
MAX_PAGES = 1_000

GL_IMPORT_ITEMS = """
query GLImportItems($first: Int!, $after: String, $keys: [String!]) {
  glImportItems(first: $first, after: $after, filter: {extIdentifier_in: $keys}) {
    edges { cursor node { dbId extIdentifier amount } }
    pageInfo { hasNextPage }
  }
}
"""

# For reconciliation: every line whose extIdentifier starts with our prefix. The filter name
# is as unverified as `extIdentifier_in`; whatever comes back is checked for the prefix again.
GL_IMPORT_ITEMS_BY_PREFIX = """
query GLImportItemsByPrefix($first: Int!, $after: String, $prefix: String!) {
  glImportItems(first: $first, after: $after, filter: {extIdentifier_startsWith: $prefix}) {
    edges { cursor node { dbId extIdentifier amount } }
    pageInfo { hasNextPage }
  }
}
"""

Send = Callable[[str, dict[str, Any]], GraphQLAnswer]


@dataclass(frozen=True)
class LedgerLine:
    """One GL import line as a lookup sees it; `amount` is None when Xledger gave none we can read."""

    db_id: int
    amount: Decimal | None


@dataclass(frozen=True)
class Page:
    lines: list[tuple[str, LedgerLine]]
    last_cursor: str | None
    has_next_page: bool


def is_balanced(lines: Sequence[LedgerLine]) -> bool:
    """True when the lines can be a whole record: two or more, summing to zero where amounts are known."""
    amounts = [line.amount for line in lines if line.amount is not None]
    return len(lines) >= 2 and sum(amounts, Decimal(0)) == 0


def find_lines(send: Send, retry: RetryPolicy, keys: Sequence[str]) -> dict[str, list[LedgerLine]]:
    """Lines in the ledger for each of `keys`, keyed by the upper-cased key; absent keys have none."""
    found: dict[str, list[LedgerLine]] = {}
    for batch in chunked(dict.fromkeys(keys), KEYS_PER_QUERY):
        wanted = {key.upper() for key in batch}
        for key, line in _all_pages(send, retry, batch):
            if key.upper() in wanted:
                found.setdefault(key.upper(), []).append(line)
    return found


def lines_with_prefix(send: Send, retry: RetryPolicy, prefix: str) -> dict[str, list[LedgerLine]]:
    """Every line whose extIdentifier starts with `prefix` (any case), by the upper-cased key."""
    found: dict[str, list[LedgerLine]] = {}
    query = (GL_IMPORT_ITEMS_BY_PREFIX, {"prefix": prefix})
    for key, line in _all_pages(send, retry, [], query):
        if key.upper().startswith(prefix.upper()):
            found.setdefault(key.upper(), []).append(line)
    return found


def _all_pages(
    send: Send, retry: RetryPolicy, keys: list[str], query: tuple[str, dict[str, Any]] | None = None
) -> list[tuple[str, LedgerLine]]:
    text, variables = query or (GL_IMPORT_ITEMS, {"keys": keys})
    lines: list[tuple[str, LedgerLine]] = []
    after: str | None = None
    first = MAX_RECORDS_PER_QUERY
    seen: set[int] = set()
    pages = 0
    reads = ReadRetry(retry)  # one budget for all pages

    def fetch() -> Page:
        answer = send(text, {"first": first, "after": after, **variables})
        if answer.has_errors:
            codes = sorted({p.code or "UNKNOWN" for ps in answer.input_errors.values() for p in ps})
            codes += sorted({p.code or "UNKNOWN" for p in answer.unattributed})
            raise FatalError(f"Xledger refused the lookup ({', '.join(codes)})")
        return parse_page(answer.data)

    def smaller_pages(error: RetriableError) -> None:
        nonlocal first
        if isinstance(error, AmbiguousError):  # one that ran too long is asked for in smaller pages
            first = max(MIN_PAGE_SIZE, first // 2)

    while True:
        page = reads.read(fetch, on_failure=smaller_pages)
        # Items on any page count, the last page included; dbIds seen twice count once.
        for key, line in page.lines:
            if line.db_id not in seen:
                seen.add(line.db_id)
                lines.append((key, line))
        if not page.has_next_page:
            return lines
        pages += 1
        if page.last_cursor is None or page.last_cursor == after or pages >= MAX_PAGES:
            # Stopping here could miss stored lines and cause a second posting: fail instead.
            raise RetriableError("Xledger's lookup pages did not advance; no cursor to continue from")
        after = page.last_cursor


def parse_page(data: dict[str, Any] | None) -> Page:
    """The lines of one page; edges that are not what we expect are skipped, never a crash.

    An answer without the connection at all is retriable: it says nothing about the ledger.
    """
    connection = (data or {}).get("glImportItems")
    edges = connection.get("edges") if isinstance(connection, dict) else None
    if not isinstance(connection, dict) or not isinstance(edges, list):
        raise AmbiguousError("Xledger answered a lookup without glImportItems edges")
    page_info = connection.get("pageInfo")
    has_next = bool(page_info.get("hasNextPage")) if isinstance(page_info, dict) else False
    lines: list[tuple[str, LedgerLine]] = []
    last_cursor: str | None = None
    for edge in edges:
        if not isinstance(edge, dict):
            last_cursor = None
            continue
        cursor = edge.get("cursor")
        last_cursor = cursor if isinstance(cursor, str) and cursor else None
        parsed = _parse_node(edge.get("node"))
        if parsed is not None:
            lines.append(parsed)
    return Page(lines, last_cursor, has_next)


def _parse_node(node: Any) -> tuple[str, LedgerLine] | None:
    if not isinstance(node, dict) or not isinstance(node.get("extIdentifier"), str):
        return None
    try:
        db_id = int(node["dbId"])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        amount = Decimal(str(node["amount"]))
    except (KeyError, InvalidOperation):
        amount = Decimal("NaN")
    return node["extIdentifier"], LedgerLine(db_id, amount if amount.is_finite() else None)
