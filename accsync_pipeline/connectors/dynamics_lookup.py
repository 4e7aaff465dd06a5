"""What a Business Central lookup asks for, and how its answers are read.

A record may sit in two places: as a journal line (`journalLines`, by
`externalDocumentNumber` = idempotency key) until someone posts the journal, then as general
ledger entries (`generalLedgerEntries`, by `documentNumber`; they carry no
externalDocumentNumber). Both are searched with `eq` terms joined by `or`: on API v2.0 an
`in` filter is ignored and returns the whole table (microsoft/ALAppExtensions#25734). Terms
are packed into as few URLs as fit: the URL BC resolves (API root and relative URL) stays
within MAX_URL_LENGTH, the 2,048 characters IIS and common proxies allow. Answers are
matched upper-cased (Code fields are stored upper-case), and any row that was not asked for
is ignored.

A posted record's external id is the `id` of its general ledger entry with the smallest
`entryNumber`: the first entry its posting made, stable however the entries are paged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from accsync_pipeline.domain.records import LedgerKeys, records_by_key

# Longest URL a request may carry: IIS's default `maxQueryString` and a common proxy limit.
MAX_URL_LENGTH = 2048
# Characters of one relative URL inside `$batch` when the caller does not say: room for an
# API root of up to 148 characters in front (BC's is about 120 with a GUID tenant).
URL_BUDGET = 1900
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~'()-]*")
LINES, ENTRIES = "journalLines", "generalLedgerEntries"


@dataclass(frozen=True)
class LookupGet:
    """One GET of a lookup: which collection it reads (pages inherit it) and its URL."""

    collection: str
    url: str


def filter_gets(
    collection: str, path: str, field: str, values: Iterable[str], select: str, budget: int = URL_BUDGET
) -> Iterator[LookupGet]:
    """GETs of `path` whose `$filter` together ask for every value, each URL within `budget`
    characters (a lone term longer than that still goes, alone: the server says if it is too long)."""
    prefix = f"{path}?$filter="
    suffix = f"&$select={select}"
    joiner = quote(" or ", safe="'()")
    terms: list[str] = []  # each already quoted, so a URL's length is a running sum
    length = len(prefix) + len(suffix)

    def url(quoted_terms: list[str]) -> str:
        return prefix + joiner.join(quoted_terms) + suffix

    opening = quote(f"{field} eq '", safe="'()")
    for value in values:
        escaped = value.replace("'", "''")
        # Keys are nearly always URL-safe already; quoting each one costs more than the request.
        safe_value = escaped if _URL_SAFE.fullmatch(escaped) else quote(escaped, safe="'()")
        term = opening + safe_value + "'"
        added = len(term) + (len(joiner) if terms else 0)
        if terms and length + added > budget:
            yield LookupGet(collection, url(terms))
            terms, length = [], len(prefix) + len(suffix)
            added = len(term)
        terms.append(term)
        length += added
    if terms:
        yield LookupGet(collection, url(terms))


@dataclass
class LookupAnswer:
    """Found records by record id, built from rows of both collections in any order."""

    records: Sequence[LedgerKeys]
    _by_key: dict[str, str] = field(init=False)
    _by_document: dict[str, str] = field(init=False)
    _lines: dict[str, str] = field(init=False, default_factory=dict)
    _entries: dict[str, tuple[int, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # Legacy keys too, where `records` carry them: a record an older accsync could have sent
        # (`domain.legacy_keys`) may stand under them.
        self._by_key = records_by_key(self.records)
        self._by_document = records_by_key(self.records, documents=True)

    @property
    def keys(self) -> list[str]:
        return list(self._by_key)

    @property
    def documents(self) -> list[str]:
        return list(self._by_document)

    def add(self, collection: str, row: Any) -> None:
        """Take one row of an answer; a row not asked for, or malformed, is ignored."""
        if not isinstance(row, dict) or not row.get("id"):
            return
        if collection == LINES:
            record_id = self._by_key.get(str(row.get("externalDocumentNumber", "")).upper())
            if record_id is not None:
                self._lines.setdefault(record_id, str(row["id"]))
            return
        record_id = self._by_document.get(str(row.get("documentNumber", "")).upper())
        try:
            entry = (int(row.get("entryNumber", 0)), str(row["id"]))
        except (TypeError, ValueError):
            return
        if record_id is not None and (record_id not in self._entries or entry < self._entries[record_id]):
            self._entries[record_id] = entry

    def found(self) -> dict[str, str]:
        """record_id -> external id; a journal line wins over posted entries (its key is the stronger)."""
        posted = {record_id: entry_id for record_id, (_, entry_id) in self._entries.items()}
        return posted | self._lines
