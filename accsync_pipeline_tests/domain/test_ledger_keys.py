"""Idempotency keys and document numbers stay unique when Business Central upper-cases them.

DESIGN, wire contracts, Business Central: "Code fields are stored upper-case ... two records
whose ids differ only in case must not share a key."
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.records import (
    MAX_DOCUMENT_NUMBER_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    document_number,
    idempotency_key,
    ledger_keys,
    same_key,
)

org_ids = st.from_regex(r"[a-z0-9_]{1,40}", fullmatch=True)
record_ids = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() != "")


def test_ids_that_differ_only_in_case_get_keys_that_differ_in_upper_case() -> None:
    lower, upper = idempotency_key("hlf", "r000789"), idempotency_key("hlf", "R000789")
    assert not same_key(lower, upper)
    assert document_number("r000789").upper() != document_number("R000789").upper()


def test_upper_case_ids_keep_their_readable_key() -> None:
    """Keys of ids already upper-case are what earlier releases sent, so old postings are still found."""
    assert idempotency_key("hlf", "HLF-00001") == "accsync-hlf-HLF-00001"
    assert document_number("HLF-00001") == "AS-HLF-00001"


def test_same_key_ignores_case_only() -> None:
    assert same_key("accsync-hlf-HLF-1", "ACCSYNC-HLF-HLF-1")
    assert not same_key("accsync-hlf-HLF-1", "accsync-hlf-HLF-2")


@given(org_ids, record_ids, org_ids, record_ids)
def test_distinct_records_never_share_a_key_under_upper_casing(
    org_a: str, rid_a: str, org_b: str, rid_b: str
) -> None:
    if (org_a, rid_a) == (org_b, rid_b):
        return
    assert idempotency_key(org_a, rid_a).upper() != idempotency_key(org_b, rid_b).upper()


@given(record_ids, record_ids)
def test_distinct_record_ids_never_share_a_document_number_under_upper_casing(rid_a: str, rid_b: str) -> None:
    if rid_a == rid_b:
        return
    assert document_number(rid_a).upper() != document_number(rid_b).upper()


@given(org_ids, record_ids)
def test_keys_fit_business_centrals_code_fields(org_id: str, record_id: str) -> None:
    keys = ledger_keys(org_id, record_id)
    assert len(keys.idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
    assert len(keys.document_number) <= MAX_DOCUMENT_NUMBER_LENGTH
    assert keys.record_id == record_id
