"""Business Central general journal lines as the sandbox stores, validates and filters them.

Field names follow Microsoft's API v2.0 `journalLine` reference; the validation rules and
error codes chosen for each failure (`Application_FieldValidationException`,
`Application_StringExceededLength`, `BadRequest_PropertyNotFound`) are the sandbox's
approximation and could not be verified against a real tenant.
"""

from __future__ import annotations

import re
import uuid
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
ACCOUNT_TYPES = frozenset({"G/L Account", "Customer", "Vendor", "Employee", "Bank Account", "Fixed Asset"})
MAX_LENGTHS = {"documentNumber": 20, "externalDocumentNumber": 35, "description": 100, "accountNumber": 20}
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_QUOTED = r"'((?:[^']|'')*)'"


class LineError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def validated_line(body: Any, decimal_as_string: bool) -> dict[str, Any]:
    """The journal line fields of a POST body; raises LineError naming the field (never its value)."""
    if not isinstance(body, dict):
        raise LineError(400, "BadRequest", "the request body must be a JSON object")
    for name in body:
        if name not in LINE_FIELDS:
            raise LineError(400, "BadRequest_PropertyNotFound", f"The property '{name}' does not exist.")
    for name, limit in MAX_LENGTHS.items():
        if len(str(body.get(name, ""))) > limit:
            raise LineError(
                400, "Application_StringExceededLength", f"{name} is longer than {limit} characters."
            )
    for name in ("accountType", "balanceAccountType"):
        if body.get(name, "G/L Account") not in ACCOUNT_TYPES:
            raise LineError(400, "Application_FieldValidationException", f"{name} has an invalid value.")
    if not str(body.get("accountNumber", "")).strip():
        raise LineError(400, "Application_FieldValidationException", "accountNumber must have a value.")
    raw_amount = body.get("amount", 0)
    if isinstance(raw_amount, str) and not decimal_as_string:
        raise LineError(400, "BadRequest", "amount must be a number unless IEEE754Compatible=true is set.")
    try:
        amount = Decimal(str(raw_amount))
    except InvalidOperation:
        raise LineError(400, "BadRequest", "amount is not a decimal.") from None
    if not amount.is_finite() or amount == 0:
        raise LineError(400, "Application_FieldValidationException", "amount must not be zero.")
    try:
        date.fromisoformat(str(body.get("postingDate", "")))
    except ValueError:
        raise LineError(400, "BadRequest", "postingDate is not a date.") from None
    return {name: body[name] for name in LINE_FIELDS if name in body} | {"amount": str(amount)}


def stored_line(
    fields: dict[str, Any], journal_id: str, journal_code: str, line_number: int
) -> dict[str, Any]:
    return {
        "@odata.etag": f'W/"{uuid.uuid4().hex}"',
        "id": str(uuid.uuid4()),
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
    } | fields


def filtered_keys(expression: str | None) -> list[str] | None:
    """The externalDocumentNumber values an OData `$filter` asks for; None means no filter."""
    if expression is None:
        return None
    expression = expression.strip()
    if match := re.fullmatch(rf"externalDocumentNumber eq {_QUOTED}", expression):
        return [match.group(1).replace("''", "'")]
    if match := re.fullmatch(r"externalDocumentNumber in \((.*)\)", expression):
        inner = match.group(1)
        if inner.strip() and not re.fullmatch(rf"\s*{_QUOTED}(?:\s*,\s*{_QUOTED})*\s*", inner):
            raise LineError(400, "BadRequest", "the $filter list holds something that is not a string.")
        return [value.replace("''", "'") for value in re.findall(_QUOTED, inner)]
    raise LineError(400, "BadRequest", "the sandbox understands only externalDocumentNumber eq/in filters.")
