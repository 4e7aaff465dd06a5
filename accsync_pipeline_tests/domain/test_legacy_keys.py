"""The keys sent before keys were made unique under upper-casing stay readable exactly while they fit."""

from __future__ import annotations

from accsync_pipeline.domain.records import (
    MAX_DOCUMENT_NUMBER_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    ledger_keys,
    legacy_document_number,
    legacy_idempotency_key,
    records_by_key,
)


def test_a_legacy_key_that_just_fits_is_kept_readable_and_one_longer_is_digested() -> None:
    record_id = "R" * (MAX_IDEMPOTENCY_KEY_LENGTH - len("accsync-hlf-"))
    assert legacy_idempotency_key("hlf", record_id) == f"accsync-hlf-{record_id}"
    longer = legacy_idempotency_key("hlf", record_id + "R")
    assert longer.startswith("accsync-") and record_id not in longer
    assert len(longer) == MAX_IDEMPOTENCY_KEY_LENGTH


def test_a_legacy_document_number_that_just_fits_is_kept_readable_and_one_longer_is_digested() -> None:
    record_id = "R" * (MAX_DOCUMENT_NUMBER_LENGTH - len("AS-"))
    assert legacy_document_number(record_id) == f"AS-{record_id}"
    longer = legacy_document_number(record_id + "R")
    assert longer.startswith("AS-") and record_id not in longer
    assert len(longer) == MAX_DOCUMENT_NUMBER_LENGTH


def test_a_record_without_a_legacy_key_does_not_hide_the_legacy_keys_of_the_records_after_it() -> None:
    upper, lower = ledger_keys("hlf", "R1"), ledger_keys("hlf", "r2")
    assert upper.legacy_idempotency_key is None and lower.legacy_idempotency_key == "accsync-hlf-r2"
    by_key = records_by_key([upper, lower])
    assert by_key["ACCSYNC-HLF-R2"] == "r2"
    assert by_key[upper.idempotency_key.upper()] == "R1"
