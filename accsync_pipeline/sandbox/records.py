"""Valid made-up records to feed a connector, for tests, the demo and the benchmark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from accsync_pipeline.domain.records import ExportableRecord, RecordType

# When every sample record was approved.
SAMPLE_APPROVED_AT = dt.datetime(2025, 3, 2, 23, 30, tzinfo=dt.UTC)


def sample_records(
    count: int, org_id: str = "hlf", start: int = 0, *, may_hold_legacy_keys: bool = True
) -> Iterator[ExportableRecord]:
    """`count` valid records with ids `r{start}`..., generated lazily.

    `may_hold_legacy_keys`: whether their lookups ask for legacy keys too (`domain.legacy_keys`).
    """
    for n in range(start, start + count):
        yield ExportableRecord(
            record_id=f"r{n}",
            org_id=org_id,
            record_type=RecordType.REIMBURSEMENT if n % 2 else RecordType.HONORARIUM,
            employee_number=f"{10000 + n % 50}",
            amount=Decimal("125.50") + n,
            currency="NOK",
            expense_account="6800",
            description=f"Travel {n}",
            expense_date=dt.date(2025, 3, 1),
            approved_at=SAMPLE_APPROVED_AT,
            may_hold_legacy_keys=may_hold_legacy_keys,
        )
