"""Rows of the app's `approved_records`, parsed at the boundary: amounts become exact Decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.amounts import AmountError, parse_amount
from accsync_pipeline.domain.records import ApprovedRecord
from accsync_pipeline.store.schema import approved_records

A = approved_records


def _source_amount(raw: object) -> tuple[Decimal, str | None]:
    """The exact amount, or 0 and the reason it cannot be read; never rounded."""
    try:
        return parse_amount(raw), None
    except AmountError as e:
        return Decimal(0), str(e)


def parse_source_row(m: Any) -> ApprovedRecord:
    """Parse a row of `approved_records` at the boundary; amounts become exact Decimals.

    Read the amount through `RAW_AMOUNT` (see `source_columns`): the Numeric column type would
    round it to two decimals on SQLite before we could see it, and fail on text.
    """
    amount, unreadable = _source_amount(m["amount"])
    return ApprovedRecord(
        record_id=m["record_id"],
        org_id=m["org_id"],
        record_type=m["record_type"],
        person_id=m["person_id"],
        person_name=m["person_name"],
        employee_number=m["employee_number"],
        amount=amount,
        currency=m["currency"],
        expense_account=m["expense_account"],
        description=m["description"],
        expense_date=m["expense_date"],
        approved_at=m["approved_at"],
        approved_by=m["approved_by"],
        updated_at=m["updated_at"],
        amount_unreadable=unreadable,
    )


# The source amount as the driver gives it, without the Numeric type's rounding result processor.
RAW_AMOUNT = sa.type_coerce(A.c.amount, sa.types.NullType()).label("amount")


def source_columns() -> list[sa.ColumnElement[Any]]:
    """The columns of `approved_records`, the amount read raw for `parse_source_row`."""
    return [RAW_AMOUNT if c.name == "amount" else c for c in A.c]


def exportable_source_row(conn: sa.Connection, org_id: str) -> dict[str, Any]:
    """One source row of the org that can be exported (an employee number, a positive amount), as
    a mapping of its columns: a model for new approvals in benchmarks."""
    query = (
        sa.select(approved_records)
        .where(
            approved_records.c.org_id == org_id,
            approved_records.c.employee_number.is_not(None),
            approved_records.c.amount > 0,
        )
        .limit(1)
    )
    return dict(conn.execute(query).one()._mapping)


def insert_source_rows(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Add rows to `approved_records` (the demo's stand-in for the app)."""
    conn.execute(A.insert(), rows)


def source_summary(conn: sa.Connection) -> tuple[int, datetime | None, int]:
    """(rows, newest change, organizations) of the whole source table."""
    count, newest, orgs = conn.execute(
        sa.select(sa.func.count(), sa.func.max(A.c.updated_at), sa.func.count(sa.distinct(A.c.org_id)))
    ).one()
    return int(count), newest, int(orgs)
