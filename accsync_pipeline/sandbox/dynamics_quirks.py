"""Awkward behaviours of Business Central the sandbox reproduces, each on by default.

A test may turn one off (`DynamicsSandbox(quirks=ALL_QUIRKS - {Quirk.X})`) only to show
the difference it makes; a sandbox kinder than BC hides bugs.
"""

from __future__ import annotations

from enum import StrEnum

# Request target length the sandbox accepts (path and query as sent, also for a GET inside
# `$batch`). BC publishes no figure; 2048 is IIS's default `maxQueryString` and a common
# proxy limit, so a client that stays below it is safe behind any of them.
MAX_URL_LENGTH = 2048


class Quirk(StrEnum):
    UPPER_CASE_CODES = "upper_case_codes"
    """Code fields come back upper-cased and match filters without regard to case.

    Microsoft Learn, "Code data type": a Code value is stored upper-case. documentNumber,
    externalDocumentNumber, accountNumber and balancingAccountNumber are Code fields of
    the Gen. Journal Line table (journalLine resource type, API v2.0).
    """

    IN_FILTER_IGNORED = "in_filter_ignored"
    """`$filter=field in (...)` selects nothing out: the whole table comes back, no error.

    Microsoft Learn, "Using filter expressions in OData URIs": `in` needs
    `$schemaversion=2.1`; microsoft/ALAppExtensions#25734 reports it ignored on v2.0.
    """

    URL_LENGTH_LIMIT = "url_length_limit"
    """A request target longer than MAX_URL_LENGTH gets 400 (a chosen, documented limit)."""

    REQUESTS_QUEUED = "requests_queued"
    """Beyond 5 requests at once, requests wait in a queue of 95 instead of being refused.

    Microsoft Learn, "Operational limits for Business Central online": 429 beyond the
    queue, 503 after the maximum queue time (8 minutes). Off: refused at once with 429.
    """


ALL_QUIRKS = frozenset(Quirk)
