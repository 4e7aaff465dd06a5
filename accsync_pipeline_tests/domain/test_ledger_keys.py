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
    records_by_key,
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


# -- legacy keys: before keys were unique under upper-casing, short ids went out readable --


def test_a_lower_case_id_keeps_its_readable_pre_upgrade_keys_as_legacy() -> None:
    keys = ledger_keys("hlf", "r000789")
    assert (keys.legacy_idempotency_key, keys.legacy_document_number) == ("accsync-hlf-r000789", "AS-r000789")
    assert keys.idempotency_key.startswith("accsync-") and keys.idempotency_key != keys.legacy_idempotency_key


def test_keys_that_never_changed_have_no_legacy() -> None:
    assert ledger_keys("hlf", "R000789").legacy_idempotency_key is None
    assert ledger_keys("hlf", "R000789").legacy_document_number is None
    long_id = "r" * 40  # hashed before and after the upgrade
    assert ledger_keys("hlf", long_id).legacy_idempotency_key is None
    assert ledger_keys("hlf", long_id).legacy_document_number is None


def test_records_by_key_lists_current_and_unambiguous_legacy_keys() -> None:
    lower = ledger_keys("hlf", "r7")
    assert records_by_key([lower]) == {lower.idempotency_key.upper(): "r7", "ACCSYNC-HLF-R7": "r7"}
    assert records_by_key([lower], documents=True) == {lower.document_number.upper(): "r7", "AS-R7": "r7"}


def test_a_legacy_key_that_is_another_records_key_is_not_used() -> None:
    """`r7`'s legacy key is `R7`'s current key under upper-casing: a line under it could be
    either record's, so it must not mark `r7` as posted."""
    lower, upper = ledger_keys("hlf", "r7"), ledger_keys("hlf", "R7")
    keyed = records_by_key([lower, upper])
    assert keyed["ACCSYNC-HLF-R7"] == "R7" and "r7" in keyed.values()
    assert records_by_key([lower, upper], documents=True)["AS-R7"] == "R7"


def test_a_legacy_key_two_records_share_is_used_by_neither() -> None:
    a, b = ledger_keys("hlf", "ab"), ledger_keys("hlf", "aB")
    keyed = records_by_key([a, b])
    assert "ACCSYNC-HLF-AB" not in keyed
    assert sorted(keyed.values()) == ["aB", "ab"]  # each by its current key only


@given(org_ids, st.lists(record_ids, min_size=1, max_size=8, unique=True))
def test_every_current_key_maps_to_its_own_record(org_id: str, rids: list[str]) -> None:
    records = [ledger_keys(org_id, rid) for rid in rids]
    keyed = records_by_key(records)
    for record in records:
        assert keyed[record.idempotency_key.upper()] == record.record_id


def test_a_value_computed_once_is_stored_under_its_name_and_keeps_its_doc() -> None:
    # A class made here, not at import: the descriptor's own code then runs inside the test.
    from accsync_pipeline.domain.records import computed_once

    class Keyed:
        calls = 0

        @computed_once
        def key(self) -> str:
            """The key."""
            Keyed.calls += 1
            return f"key-{Keyed.calls}"

        alias = computed_once(lambda self: "aliased")

    keyed = Keyed()
    assert (keyed.key, keyed.key, Keyed.calls) == ("key-1", "key-1", 1)
    assert vars(keyed) == {"key": "key-1"}
    assert keyed.alias == "aliased" and vars(keyed)["alias"] == "aliased"  # its name, not "<lambda>"
    assert Keyed.__dict__["key"].__doc__ == "The key."

    def extra(self: Keyed) -> str:
        return "late"

    Keyed.extra = computed_once(extra)  # type: ignore[attr-defined]  # set late: named after its function
    late = Keyed()
    assert late.extra == "late" and vars(late)["extra"] == "late"  # type: ignore[attr-defined]
