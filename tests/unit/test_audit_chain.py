"""The audit log's hash chain (R50): a valid chain verifies; every kind of tampering is caught."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.audit_chain import (
    BROKEN_LINK,
    GENESIS_HASH,
    HASH_MISMATCH,
    MALFORMED_RECORD,
    SEQUENCE_GAP,
    ChainVerification,
    canonical_json,
    make_record,
    record_hash,
    verify_chain,
)


def build_chain(length: int) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        record = make_record(
            prev,
            seq,
            action="mint.confirmed",
            actor="operator:7",
            entity_id=f"mnt_{seq}",
            amount_fen=125_050 * seq,
            rule="R10",
            detail={"wallet": "0xabc", "tags": ["a", "b"]},
        )
        records.append(record)
        prev = str(record["hash"])
    return records


def rehash(record: dict[str, object]) -> dict[str, object]:
    """What a careful forger does: fix the record's own hash after editing it."""
    return {**record, "hash": record_hash(record)}


def test_a_valid_chain_verifies_and_reports_its_length_and_head() -> None:
    chain = build_chain(10)
    assert verify_chain(chain) == ChainVerification(ok=True, entries=10, head_hash=str(chain[-1]["hash"]))


def test_an_empty_chain_verifies_with_the_genesis_head() -> None:
    assert verify_chain([]) == ChainVerification(ok=True, entries=0, head_hash=GENESIS_HASH)


def test_a_changed_field_is_a_hash_mismatch_at_that_record() -> None:
    chain = build_chain(10)
    chain[4] = {**chain[4], "amount_fen": 1}
    result = verify_chain(chain)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 5, HASH_MISMATCH)
    assert (result.entries, result.head_hash) == (4, chain[3]["hash"])


def test_a_changed_field_with_a_recomputed_hash_breaks_the_link_of_the_next_record() -> None:
    chain = build_chain(10)
    chain[4] = rehash({**chain[4], "amount_fen": 1})
    result = verify_chain(chain)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 6, BROKEN_LINK)


def test_a_wrong_prev_hash_is_a_broken_link_at_that_record() -> None:
    chain = build_chain(10)
    chain[6] = rehash({**chain[6], "prev_hash": "f" * 64})
    result = verify_chain(chain)
    assert (result.first_bad_seq, result.reason) == (7, BROKEN_LINK)


def test_a_first_record_not_linked_to_genesis_is_a_broken_link_at_seq_1() -> None:
    chain = build_chain(3)
    chain[0] = rehash({**chain[0], "prev_hash": "1" * 64})
    assert (verify_chain(chain).first_bad_seq, verify_chain(chain).reason) == (1, BROKEN_LINK)


def test_reordered_records_are_a_sequence_gap_where_the_order_breaks() -> None:
    chain = build_chain(10)
    chain[2], chain[3] = chain[3], chain[2]
    result = verify_chain(chain)
    assert (result.first_bad_seq, result.reason, result.entries) == (3, SEQUENCE_GAP, 2)
    assert result.detail == "expected seq 3, found 4"


def test_a_deleted_record_is_a_sequence_gap_naming_the_missing_seq() -> None:
    chain = build_chain(10)
    del chain[2]
    result = verify_chain(chain)
    assert (result.first_bad_seq, result.reason, result.entries, result.head_hash) == (
        3,
        SEQUENCE_GAP,
        2,
        chain[1]["hash"],
    )


def test_a_deleted_record_with_the_rest_renumbered_is_still_caught() -> None:
    chain = build_chain(10)
    del chain[2]
    chain[2:] = [rehash({**record, "seq": index}) for index, record in enumerate(chain[2:], start=3)]
    result = verify_chain(chain)
    assert (result.first_bad_seq, result.reason) == (3, BROKEN_LINK)


def test_a_deleted_last_record_cannot_be_seen_without_the_known_head() -> None:
    chain = build_chain(5)
    result = verify_chain(chain[:-1])
    assert result.ok is True
    assert result.head_hash != chain[-1]["hash"]  # auditors compare the head with a published one


def test_a_record_that_cannot_be_hashed_is_reported_as_malformed() -> None:
    chain = build_chain(3)
    chain[1] = {**chain[1], "amount_fen": 1.5}
    result = verify_chain(chain)
    assert (result.first_bad_seq, result.reason) == (2, MALFORMED_RECORD)
    assert "float" in (result.detail or "")


def test_a_missing_or_non_integer_seq_is_a_sequence_gap() -> None:
    chain = build_chain(3)
    chain[1] = {**chain[1], "seq": "2"}
    assert verify_chain(chain).reason == SEQUENCE_GAP


@given(
    st.integers(min_value=0, max_value=7),
    st.sampled_from(["action", "actor", "amount_fen", "detail", "hash"]),
)
def test_any_single_edit_is_caught_at_the_edited_record(index: int, field: str) -> None:
    chain = build_chain(8)
    chain[index] = {**chain[index], field: "tampered"}
    result = verify_chain(chain)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, index + 1, HASH_MISMATCH)


def test_verification_streams_and_stops_at_the_first_bad_record() -> None:
    chain = build_chain(5)
    chain[1] = {**chain[1], "actor": "mallory"}
    consumed = []

    def stream() -> Iterator[Mapping[str, object]]:
        for record in chain:
            consumed.append(record["seq"])
            yield record
        raise AssertionError("verification should have stopped at seq 2")

    assert verify_chain(stream()).first_bad_seq == 2
    assert consumed == [1, 2]


def test_a_long_chain_can_be_verified_in_pages_from_a_checkpoint() -> None:
    chain = build_chain(20)
    first = verify_chain(chain[:12])
    second = verify_chain(chain[12:], start_seq=first.entries + 1, start_prev_hash=first.head_hash)
    assert second == ChainVerification(ok=True, entries=8, head_hash=str(chain[-1]["hash"]))


def test_canonical_json_is_sorted_compact_utf8_and_the_hash_is_its_sha256() -> None:
    record = {"seq": 1, "b": [1, True, None], "a": "é", "prev_hash": GENESIS_HASH, "hash": "ignored"}
    expected = ('{"a":"é","b":[1,true,null],"prev_hash":"' + GENESIS_HASH + '","seq":1}').encode()
    body = {key: value for key, value in record.items() if key != "hash"}
    assert canonical_json(body) == expected
    assert record_hash(record) == hashlib.sha256(expected).hexdigest()


def test_canonical_json_does_not_depend_on_key_insertion_order() -> None:
    assert canonical_json({"a": 1, "b": {"y": 2, "x": 3}}) == canonical_json({"b": {"x": 3, "y": 2}, "a": 1})


@pytest.mark.parametrize(
    "value",
    [1.5, {"amount": 0.1}, [1, 2.0], {"n": {"deep": [float("nan")]}}, float("inf")],
)
def test_canonical_json_rejects_floats_anywhere_because_money_is_never_float(value: object) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_json(value)


@pytest.mark.parametrize(
    "value", [Decimal("1.5"), {1, 2}, b"bytes", object(), {1: "int key"}, {"k": {("t",): 1}}]
)
def test_canonical_json_rejects_non_json_types(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_make_record_fills_in_seq_prev_hash_and_a_verifiable_hash() -> None:
    record = make_record(GENESIS_HASH, 1, action="customer.created")
    assert (record["seq"], record["prev_hash"], record["action"]) == (1, GENESIS_HASH, "customer.created")
    assert record["hash"] == record_hash(record)
    assert verify_chain([record]).ok is True


@pytest.mark.parametrize(
    ("prev_hash", "seq", "fields"),
    [
        ("abc", 1, {}),
        ("F" * 64, 1, {}),
        (GENESIS_HASH, 0, {}),
        (GENESIS_HASH, True, {}),
        (GENESIS_HASH, 1, {"hash": "x"}),
    ],
)
def test_make_record_refuses_bad_links_and_a_caller_supplied_hash(
    prev_hash: str, seq: int, fields: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        make_record(prev_hash, seq, **fields)


def test_make_record_refuses_float_fields() -> None:
    with pytest.raises(TypeError, match="float"):
        make_record(GENESIS_HASH, 1, amount=12.5)
