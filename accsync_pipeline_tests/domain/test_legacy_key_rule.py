"""Only a record an older accsync could have sent is looked up under its legacy keys.

The mark is the instant the database started using the current keys; a record approved
before it, or within the margin after it (old workers of a rolling deploy, the app's clock),
may stand in the ledger under its legacy keys. Without a mark every record may.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accsync_pipeline.domain.legacy_keys import LEGACY_KEYS_MARGIN, may_hold_legacy_keys
from accsync_pipeline.domain.records import LedgerKeys, ledger_keys
from accsync_pipeline.sandbox.records import sample_records

MARK = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("approved_at", "expected"),
    [
        (MARK - timedelta(days=400), True),  # long before the upgrade
        (MARK - SECOND, True),
        (MARK, True),  # at the mark: an old worker may still be sending
        (MARK + LEGACY_KEYS_MARGIN - SECOND, True),  # the last instant the margin covers
        (MARK + LEGACY_KEYS_MARGIN, False),  # the first it does not
        (MARK + timedelta(days=30), False),
    ],
)
def test_records_approved_before_the_mark_and_its_margin_may_hold_legacy_keys(
    approved_at: datetime, expected: bool
) -> None:
    assert may_hold_legacy_keys(approved_at, MARK) is expected


def test_the_margin_is_a_day() -> None:
    """Longer than any rolling deploy's overlap and any clock skew that would go unnoticed."""
    assert timedelta(hours=24) == LEGACY_KEYS_MARGIN


def test_without_a_mark_every_record_may_hold_legacy_keys() -> None:
    assert may_hold_legacy_keys(MARK + timedelta(days=3650), None)


def test_the_rule_compares_instants_not_wall_clocks() -> None:
    """The app may write approvals in Oslo time: 10:59:59 there is 09:59:59 UTC, inside the margin."""
    last_covered = (MARK + LEGACY_KEYS_MARGIN - SECOND).astimezone(ZoneInfo("Europe/Oslo"))
    assert last_covered.hour == 10 and may_hold_legacy_keys(last_covered, MARK)
    assert not may_hold_legacy_keys(last_covered + SECOND, MARK)


def test_a_record_that_cannot_hold_legacy_keys_is_asked_for_by_its_current_keys_only() -> None:
    [record] = sample_records(1, start=7)  # `r7`: hashed now, readable before the upgrade
    assert record.ledger_keys.legacy_idempotency_key == "accsync-hlf-r7"
    after = replace(record, may_hold_legacy_keys=False)
    assert after.ledger_keys == LedgerKeys("r7", record.idempotency_key, record.document_number)
    assert ledger_keys("hlf", "r7", legacy=False) == after.ledger_keys
    assert ledger_keys("hlf", "r7") == record.ledger_keys
