"""Sanctions screening rules (R23): normalisation, the fuzzy score and its documented threshold,
exact address matching, and validation of the list file. Pure: no database, no chain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compliance.screening import (
    NAME_MATCH_THRESHOLD,
    SANDBOX_LIST_FILE,
    ScreeningListError,
    check_onboarding,
    name_score,
    normalise_name,
    parse_list,
    sandbox_list,
    screen_address,
    screen_name,
)


def test_normalisation_drops_accents_case_punctuation_and_legal_forms() -> None:
    assert normalise_name("  Corvína  BLACK-LEDGER, Ltd. ") == "corvina black ledger"
    assert normalise_name("The Vexmoor Arms Brokerage Limited") == "vexmoor arms brokerage"


def test_normalisation_folds_letters_without_a_decomposition_and_keeps_every_script() -> None:  # R23
    assert normalise_name("Øresund Cæsar Łódź Þór Marıtıme") == "oresund caesar lodz thor maritime"
    assert normalise_name("王小明（香港）有限公司") == "王小明 香港 有限公司"
    assert normalise_name("Иванов, Иван") == "иванов иван"


def test_a_listed_name_in_a_non_latin_script_is_accepted_and_screened() -> None:  # R23
    listed = parse_list({"version": "v1", "entries": [{"id": "CN-1", "name": "王小明", "aliases": ["Wang Xiaoming"]}]})
    assert [hit.entry_id for hit in screen_name("王小明", listed)] == ["CN-1"]
    assert [hit.entry_id for hit in screen_name("Wang Xiao Ming", listed)] == ["CN-1"]
    assert screen_name("李四", listed) == []


@pytest.mark.parametrize(
    ("candidate", "listed"),
    [
        ("Vexmoor Arms Brokerage Ltd", "Vexmoor Arms Brokerage Ltd"),  # identical
        ("VEXMOOR ARMS BROKERAGE LIMITED", "Vexmoor Arms Brokerage Ltd"),  # case and legal form
        ("Vexmore Arms Brokerage", "Vexmoor Arms Brokerage Ltd"),  # one typo
        ("Quillfeather, Ostrogoth", "Ostrogoth Quillfeather"),  # word order
        ("Ostrogoth Ignatius Quillfeather", "Ostrogoth Quillfeather"),  # an added middle name
        ("Korvina Blackleger", "Corvina Blackledger"),  # transliteration and a dropped letter
        ("Sablewind Shipping", "Sablewind Shipping Company"),
        ("Vexmøør Arms Brøkerage Ltd", "Vexmoor Arms Brokerage Ltd"),  # letters NFKD does not decompose
        ("Cørvina Blæckledger", "Corvina Blackledger"),
        ("Sablewind Marıtıme Holdıngs", "Sablewind Maritime Holdings"),  # dotless i
        ("CorvinaBlackledger", "Corvina Blackledger"),  # a space dropped
        ("Ostrogoth Quill feather", "Ostrogoth Quillfeather"),  # a space added
        ("王小明", "王小明"),  # names in any script
        ("ИВАНОВ Иван Петрович", "Иванов Иван"),
    ],
)
def test_variants_of_a_listed_name_score_at_or_above_the_threshold(candidate: str, listed: str) -> None:
    assert name_score(candidate, listed) >= NAME_MATCH_THRESHOLD


@pytest.mark.parametrize(
    ("candidate", "listed"),
    [
        ("Lotus Trading Ltd", "Golden Dragon Trading"),  # one shared common word
        ("Bob Shipping Ltd", "Sablewind Shipping Company"),
        ("Vexmoor", "Vexmoor Arms Brokerage Ltd"),  # a fragment of the listed name
        ("Alice Ltd", "Corvina Blackledger"),
        ("Ltd", "Corvina Blackledger"),  # nothing left after the legal form
    ],
)
def test_different_names_score_below_the_threshold(candidate: str, listed: str) -> None:
    assert name_score(candidate, listed) < NAME_MATCH_THRESHOLD


def test_the_score_is_symmetric_in_its_whole_name_part_and_an_integer_from_0_to_100() -> None:
    score = name_score("Pyrite Lantern Exchange", "Pyrite Lantern Exchange")
    assert score == 100 and isinstance(score, int)
    assert 0 <= name_score("abc", "xyz") < NAME_MATCH_THRESHOLD


def test_screen_name_reports_each_entry_once_with_its_best_matching_name() -> None:
    hits = screen_name("Ostrogot Kwillfeather", sandbox_list())
    assert [(h.entry_id, h.kind, h.matched_value, h.score) for h in hits] == [
        ("SBX-0002", "name", "Ostrogot Kwillfeather", 100)
    ]


def test_addresses_match_exactly_and_case_insensitively_never_by_similarity() -> None:
    listed = "0x5abd00000000000000000000000000000000bad1"
    assert [h.entry_id for h in screen_address(listed.upper().replace("0X", "0x"), sandbox_list())] == ["SBX-0001"]
    assert screen_address(listed[:-1] + "2", sandbox_list()) == []


def test_a_hit_or_an_unresolved_case_refuses_onboarding_with_r23() -> None:
    hit = screen_name("Vexmore Arms Brokerage", sandbox_list())
    refused = check_onboarding(hit)
    assert (refused.allowed, refused.reason_code, refused.rule_id) == (False, "sanctions_hit", "R23")
    assert check_onboarding([], open_cases=1).reason_code == "sanctions_hit"
    assert check_onboarding([]).allowed


def test_the_shipped_list_is_valid_fictional_and_matches_none_of_the_test_customers() -> None:
    raw = json.loads(SANDBOX_LIST_FILE.read_text(encoding="utf-8"))
    assert "FICTIONAL" in raw["notice"]
    assert all(e["program"].startswith("SANDBOX-FICTIONAL") for e in raw["entries"])
    for name in (
        "Lotus Trading Ltd",
        "Alice Ltd",
        "Bob Ltd",
        "Other Ltd",
        "Mine Ltd",
        "Flow Ltd",
        "Alice Trading Ltd",
        "Bob Shipping Ltd",
        "Walk Customer Ltd",
        "Ada Lovelace",
        "Recovery Trust Ltd",
        "Harbour Lights Trading Ltd",
        "Carol Ltd",
    ):
        assert screen_name(name, sandbox_list()) == [], name


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"version": ""}, "version"),
        ({"entries": [{"id": "A", "name": "X Y", "addresses": ["0x12"]}]}, "entries[0].addresses"),
        ({"entries": [{"id": "A", "name": "---"}]}, "entries[0].name"),
        ({"entries": [{"id": "A", "name": "X"}, {"id": "A", "name": "Y"}]}, "appears twice"),
        ({"entries": [{"id": "A", "name": "X", "dob": "1970"}]}, "unknown keys"),
        ({"surprise": 1}, "unknown keys"),
    ],
)
def test_a_malformed_list_is_refused_naming_the_entry_and_field(change: dict[str, Any], named: str) -> None:
    data: dict[str, Any] = {"version": "v1", "entries": [], **change}
    with pytest.raises(ScreeningListError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_list(data)


def test_the_same_content_has_the_same_hash_and_a_change_changes_it() -> None:
    one = parse_list({"version": "v1", "entries": [{"id": "A", "name": "X Y", "addresses": ["0x" + "AB" * 20]}]})
    same = parse_list({"version": "v1", "entries": [{"id": "A", "name": "X Y", "addresses": ["0x" + "ab" * 20]}]})
    other = parse_list({"version": "v1", "entries": [{"id": "A", "name": "X Z"}]})
    assert one.sha256 == same.sha256 != other.sha256
