"""Travel rule (R25): the full data set from the profile threshold, filling gaps from the CDD file
below it, and the classification of on-chain transfers against their records. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.money import fen_to_units
from compliance.profiles import RegimeProfile, load_profile
from compliance.travel_rule import (
    ObservedTransfer,
    Party,
    TravelRuleData,
    assess_transfers,
    check_travel_rule,
)

FULL_PARTY = Party(name="Lotus Trading Ltd", account="0xabc", id_number="LEI 5493001KJTIIGC8Y1R12")


def test_from_the_threshold_every_missing_field_of_both_parties_is_named(hk: RegimeProfile) -> None:
    check = check_travel_rule(hk.travel_rule_threshold_fen, None, hk)
    assert check.required and check.missing == (
        "originator.name",
        "originator.account",
        "originator.address",
        "beneficiary.name",
        "beneficiary.account",
        "beneficiary.address",
    )
    decision = check.decision
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (False, "travel_rule_data_missing", "R25")


def test_an_id_number_stands_in_for_the_address_and_blank_strings_count_as_missing(hk: RegimeProfile) -> None:
    data = TravelRuleData(originator=FULL_PARTY, beneficiary=Party(name=" ", account="HK-001", address="1 Road"))
    assert check_travel_rule(hk.travel_rule_threshold_fen, data, hk).missing == ("beneficiary.name",)


def test_below_the_threshold_nothing_is_required_and_gaps_are_filled_from_the_file(hk: RegimeProfile) -> None:
    assert check_travel_rule(hk.travel_rule_threshold_fen - 1, None, hk).decision.allowed
    given = TravelRuleData(beneficiary=Party(name="Someone Else Ltd"))
    on_file = TravelRuleData(originator=FULL_PARTY, beneficiary=FULL_PARTY)
    filled = given.filled_from(on_file)
    assert filled.complete() and filled.beneficiary.name == "Someone Else Ltd"  # what was given wins


def test_eu_mica_has_no_de_minimis_so_every_redemption_carries_the_full_set() -> None:
    assert check_travel_rule(1, None, load_profile("eu-mica")).required


def test_transfers_are_recorded_awaiting_missing_or_late_against_the_profile_window(hk: RegimeProfile) -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    window = timedelta(seconds=hk.travel_rule_record_window_seconds)
    big = fen_to_units(hk.travel_rule_threshold_fen)

    def transfer(tx: str, units: int, age: timedelta) -> ObservedTransfer:
        return ObservedTransfer(
            tx_hash=tx, block_number=1, from_address="0xa", to_address="0xb", amount_units=units, observed_at=now - age
        )

    transfers = [
        transfer("0xrecorded", big, window * 2),
        transfer("0xLATE", big, window * 2),
        transfer("0xmissing", big, window + timedelta(seconds=1)),
        transfer("0xawaiting", big, window),
        transfer("0xsmall", big - 1, window * 2),
    ]
    records = {"0xrecorded": now - window - timedelta(hours=1), "0xlate": now}
    findings = assess_transfers(transfers, records, profile=hk, now=now)
    assert [(f.transfer.tx_hash, f.status, f.flagged) for f in findings] == [
        ("0xrecorded", "recorded", False),
        ("0xLATE", "late", True),
        ("0xmissing", "missing", True),
        ("0xawaiting", "awaiting_record", False),
    ]


@pytest.mark.parametrize("name", ["hk", "eu-mica", "sg-mas", "us-genius"])
def test_every_profile_has_a_record_window(name: str) -> None:
    assert load_profile(name).travel_rule_record_window_seconds > 0
