"""Business Central general journal lines as the sandbox validates, stores and answers them.

Field names follow Microsoft's API v2.0 `journalLine` reference (Microsoft Learn,
"journalLine resource type"). The validation rules and error codes chosen for each
failure (`Application_FieldValidationException`, `Application_StringExceededLength`,
`BadRequest_PropertyNotFound`) are the sandbox's approximation and could not be verified
against a real tenant.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

LINE_FIELDS = (
    "accountType",
    "accountNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "amount",
    "description",
    "comment",
    "balanceAccountType",
    "balancingAccountNumber",
)
_KNOWN_FIELDS = frozenset(LINE_FIELDS)
# Code fields: Microsoft Learn, "Code data type" — "a Code value is always stored in
# upper-case"; the API answers what the table holds, so these come back upper-cased.
CODE_FIELDS = ("documentNumber", "externalDocumentNumber", "accountNumber", "balancingAccountNumber")
ACCOUNT_TYPES = frozenset({"G/L Account", "Customer", "Vendor", "Employee", "Bank Account", "Fixed Asset"})
MAX_LENGTHS = {"documentNumber": 20, "externalDocumentNumber": 35, "description": 100, "accountNumber": 20}
# Amounts are Decimal in AL; the sandbox refuses what a 2-decimal currency cannot hold
# rather than rounding silently (stricter than BC, which rounds to the currency's precision).
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# Sandbox-only fields of a stored line: where it stands, and the ledger entries it became.
STATE, POSTED_ENTRIES = "state", "postedEntries"
SANDBOX_FIELDS = frozenset({STATE, POSTED_ENTRIES, "journalDocumentNumber"})


def random_guid(digits: str | None = None) -> str:
    """A random (version 4) GUID as BC writes SystemIds; `uuid.uuid4()` costs several times more.

    `digits`: 32 random hex digits already drawn (one draw for a line's etag and id)."""
    digits = digits or os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


class LineError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validated_line(body: Any, decimal_as_string: bool) -> dict[str, Any]:
    """The journal line fields of a POST body; raises LineError naming the field (never its value).

    `body` is parsed with `parse_float=Decimal`, so a JSON number arrives exact. Amounts as
    JSON numbers are the documented form (the journalLine examples on Microsoft Learn). A
    string amount is accepted only under `IEEE754Compatible=true` (OData JSON Format 4.0,
    section 3.2: Edm.Decimal may then be a string); without it BC's OData stack refuses a
    string for a decimal property, and so does the sandbox.
    """
    if not isinstance(body, dict):
        raise LineError(400, "BadRequest", "the request body must be a JSON object")
    if not body.keys() <= _KNOWN_FIELDS:
        name = next(name for name in body if name not in _KNOWN_FIELDS)
        raise LineError(400, "BadRequest_PropertyNotFound", f"The property '{name}' does not exist.")
    for name, limit in MAX_LENGTHS.items():
        value = body.get(name, "")
        if len(value if type(value) is str else str(value)) > limit:
            raise LineError(
                400, "Application_StringExceededLength", f"{name} is longer than {limit} characters."
            )
    for name in ("accountType", "balanceAccountType"):
        if body.get(name, "G/L Account") not in ACCOUNT_TYPES:
            raise LineError(400, "Application_FieldValidationException", f"{name} has an invalid value.")
    if not str(body.get("accountNumber", "")).strip():
        raise LineError(400, "Application_FieldValidationException", "accountNumber must have a value.")
    amount = _amount(body.get("amount", 0), decimal_as_string)
    try:
        date.fromisoformat(str(body.get("postingDate", "")))
    except ValueError:
        raise LineError(400, "BadRequest", "postingDate is not a date.") from None
    return {**body, "amount": str(amount)}  # every name is one of LINE_FIELDS (checked above)


def _amount(raw: Any, decimal_as_string: bool) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
        raise LineError(400, "BadRequest", "amount is not a decimal.")
    if isinstance(raw, str) and not decimal_as_string:
        raise LineError(400, "BadRequest", "amount must be a number unless IEEE754Compatible=true is set.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise LineError(400, "BadRequest", "amount is not a decimal.") from None
    if not amount.is_finite() or amount == 0:
        raise LineError(400, "Application_FieldValidationException", "amount must not be zero.")
    cents = amount.quantize(CENT)
    if amount != cents or abs(amount) > MAX_AMOUNT:
        raise LineError(400, "Application_FieldValidationException", "amount has too many digits.")
    return cents


def stored_line(
    fields: dict[str, Any], journal_id: str, journal_code: str, line_number: int, upper_case_codes: bool
) -> dict[str, Any]:
    """The line as the journal holds it: defaults filled in, Code fields upper-cased."""
    drawn = os.urandom(32).hex()
    line = {
        "@odata.etag": f'W/"{drawn[:32]}"',
        "id": random_guid(drawn[32:]),
        "journalId": journal_id,
        "journalDisplayName": journal_code,
        "lineNumber": line_number,
        "accountType": "G/L Account",
        "accountId": ZERO_GUID,
        "accountNumber": "",
        "postingDate": "",
        "documentNumber": "",
        "externalDocumentNumber": "",
        "amount": "0",
        "description": "",
        "comment": "",
        "balanceAccountType": "G/L Account",
        "balancingAccountId": ZERO_GUID,
        "balancingAccountNumber": "",
        "lastModifiedDateTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    line.update(fields)
    if upper_case_codes:
        for name in CODE_FIELDS:
            if name in fields:
                line[name] = str(fields[name]).upper()
    return line


def answered(
    entity: dict[str, Any], decimal_as_string: bool, amount_fields: tuple[str, ...]
) -> dict[str, Any]:
    """An entity as the API shows it: no sandbox-only fields; amounts as JSON numbers.

    Amounts are held as exact decimal strings. As JSON numbers they go out through float,
    which is exact here: at most 12 digits with 2 decimals survive a float's shortest
    repr unchanged. Under `IEEE754Compatible=true` they go out as strings.
    """
    shown = dict(entity)
    for name in SANDBOX_FIELDS & shown.keys():
        del shown[name]
    for name in amount_fields:
        if name in shown:
            # float() of the decimal text rounds as float(Decimal(text)) does: correctly.
            shown[name] = str(shown[name]) if decimal_as_string else float(str(shown[name]))
    return shown
