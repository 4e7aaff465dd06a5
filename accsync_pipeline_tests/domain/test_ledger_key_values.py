"""Keys already sent to the ledgers: a retry finds an earlier posting only if its key is the same.

These values are wire contracts. A change here means postings made before it can no longer be
looked up, and would be posted twice.
"""

from __future__ import annotations

import pytest

from accsync_pipeline.domain.records import LedgerKeys, document_number, idempotency_key, ledger_keys


@pytest.mark.parametrize(
    ("org_id", "record_id", "key"),
    [
        ("hlf", "HLF-00001", "accsync-hlf-HLF-00001"),
        ("hlf", "R" * 23, "accsync-hlf-" + "R" * 23),  # exactly 35 characters: kept readable
        ("hlf", "R" * 24, "accsync-43F6ACD8EB54A792E0FA06FDF4F"),
        ("hlf", "r000789", "accsync-65C1D79608F9A573B9B41FBAF18"),
    ],
)
def test_idempotency_keys(org_id: str, record_id: str, key: str) -> None:
    assert idempotency_key(org_id, record_id) == key
    assert len(key) <= 35


@pytest.mark.parametrize(
    ("record_id", "number"),
    [
        ("HLF-00001", "AS-HLF-00001"),
        ("R" * 17, "AS-" + "R" * 17),  # exactly 20 characters: kept readable
        ("R" * 18, "AS-63030BCF7B551CA52"),
        ("r1", "AS-8C97518621991A8A2"),
        ("Æ1", "AS-8BB4FA16D554DDF90"),
    ],
)
def test_document_numbers(record_id: str, number: str) -> None:
    assert document_number(record_id) == number
    assert len(number) <= 20


def test_ledger_keys_bundle_the_record_id_and_both_keys() -> None:
    assert ledger_keys("hlf", "r1") == LedgerKeys(
        "r1", "accsync-4788151DD32F636090DD5844246", "AS-8C97518621991A8A2", "accsync-hlf-r1", "AS-r1"
    )
    assert ledger_keys("nrk", "R1") == LedgerKeys("R1", "accsync-nrk-R1", "AS-R1")
