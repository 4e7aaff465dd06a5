"""Posting a Business Central general journal: its lines leave `journalLines` and become G/L entries.

Sources: Microsoft Learn, API v2.0 "journal" (bound action `Microsoft.NAV.post` on
`journals({id})`) and "generalLedgerEntry resource type" (id, entryNumber, postingDate,
documentNumber, documentType, accountId, accountNumber, description, debitAmount,
creditAmount, lastModifiedDateTime — no externalDocumentNumber); microsoft/AL#7761 (posted
lines are gone from the journal). One line with a balancing account becomes two entries
sharing its document number: the line's account, and the balancing side. An Employee
balancing account posts to its posting group's payables G/L account
(`employee_payables_account`, the sandbox's stand-in for that setup).

A journal batch with a No. Series makes BC renumber (with a Posting No. Series) or refuse
document numbers that are not the series' next ones. The sandbox emulates renumbering: with
`no_series` set (its first number, e.g. "G00001"), each distinct document number of a
posting gets the series' next number. The API v2.0 `journal` entity does not show a No.
Series (APIV2 "Journals" page in microsoft/BCApps), so neither does the sandbox.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from accsync_pipeline.sandbox.dynamics_journal import POSTED_ENTRIES, STATE, ZERO_GUID, random_guid
from accsync_pipeline.sandbox.ledger import Ledger

JOURNAL, POSTED = "journal", "posted"


def next_number(number: str) -> str:
    """The series number after `number`: its last run of digits plus one, width kept (AL IncStr)."""
    match = re.search(r"(\d+)(\D*)$", number)
    if match is None:
        raise ValueError("a No. Series number must contain digits")
    digits = match.group(1)
    return number[: match.start(1)] + str(int(digits) + 1).zfill(len(digits)) + match.group(2)


class GeneralLedger:
    """The journal lines of a Ledger and the general ledger entries posted from them.

    The Ledger keeps every line ever stored, with a sandbox-only `state`: so inspection
    (`/_sandbox/postings`) sees each record once whether it is a journal line or posted,
    and persistence needs nothing more.
    """

    def __init__(self, ledger: Ledger, *, employee_payables_account: str, no_series: str | None) -> None:
        self.ledger = ledger
        self.employee_payables_account = employee_payables_account
        self.no_series = no_series
        self.rebuild()

    def rebuild(self) -> None:
        """Re-derive the entries and counters from the Ledger (after loading or clearing it)."""
        self.entries: list[dict[str, Any]] = []
        self.by_document: dict[str, list[dict[str, Any]]] = {}
        self.lines_since_post = 0
        self._next_series = self.no_series
        for line in self.ledger.postings:
            for entry in line.get(POSTED_ENTRIES, []):
                self._index(entry)
            if self.no_series and line.get(STATE) == POSTED and self._next_series:
                self._next_series = next_number(self._next_series)

    def journal_lines(self, lines: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        return [
            line for line in (self.ledger.postings if lines is None else lines) if line.get(STATE) == JOURNAL
        ]

    def post_journal(self) -> int:
        """Post every line in the journal; answers how many lines were posted."""
        lines = self.journal_lines()
        renumbered: dict[str, str] = {}
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for line in lines:
            document = str(line["documentNumber"])
            if self._next_series is not None:
                if document not in renumbered:
                    renumbered[document] = self._next_series
                    self._next_series = next_number(self._next_series)
                line["journalDocumentNumber"], line["documentNumber"] = document, renumbered[document]
            line[STATE] = POSTED
            line[POSTED_ENTRIES] = self._entries_of(line, now)
            for entry in line[POSTED_ENTRIES]:
                self._index(entry)
        self.lines_since_post = 0
        self.ledger.save()
        return len(lines)

    def _entries_of(self, line: dict[str, Any], now: str) -> list[dict[str, Any]]:
        amount = Decimal(str(line["amount"]))
        sides = [(str(line["accountNumber"]), amount)]
        if line.get("balancingAccountNumber"):
            balancing = str(line["balancingAccountNumber"])
            if line.get("balanceAccountType") == "Employee":
                balancing = self.employee_payables_account
            sides.append((balancing, -amount))
        entries: list[dict[str, Any]] = []
        for account, signed in sides:
            entries.append(
                {
                    "id": random_guid(),
                    "entryNumber": len(self.entries) + len(entries) + 1,
                    "postingDate": line["postingDate"],
                    "documentNumber": line["documentNumber"],
                    "documentType": "",
                    "accountId": ZERO_GUID,
                    "accountNumber": account,
                    "description": line.get("description", ""),
                    "debitAmount": str(max(signed, Decimal("0.00"))),
                    "creditAmount": str(max(-signed, Decimal("0.00"))),
                    "lastModifiedDateTime": now,
                }
            )
        return entries

    def _index(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.by_document.setdefault(str(entry["documentNumber"]), []).append(entry)
