"""Regime profiles are data (R60), validated on load, and differ where regulation.md says."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest

import compliance
from compliance.profiles import (
    ASSET_KINDS,
    DEFAULT_PROFILE,
    PROFILES_DIR,
    ProfileError,
    RegimeProfile,
    UnknownProfileError,
    available_profiles,
    load_profile,
    parse_profile,
)
from compliance.redemption_rules import redemption_fee_fen, redemption_payout_fen

PACKAGE_DIR = Path(compliance.__file__).parent


def _hk_data() -> dict[str, object]:
    data: dict[str, object] = json.loads((PROFILES_DIR / "hk.json").read_text(encoding="utf-8"))
    return data


def test_the_four_regimes_of_regulation_md_are_available_and_hk_is_the_default() -> None:
    assert available_profiles() == ["eu-mica", "hk", "sg-mas", "us-genius"]
    assert DEFAULT_PROFILE == "hk"


@pytest.mark.parametrize("name", ["hk", "eu-mica", "sg-mas", "us-genius"])
def test_each_profile_loads_with_cnh_at_zero_haircut_and_only_r2_asset_kinds(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.reference_currency == "CNH"
    assert profile.haircut_bps("CNH") == 0  # R4
    assert profile.eligible_asset_kinds <= ASSET_KINDS  # R2
    assert profile.concentration_limit_bps == 5_000  # R6 default 50%
    assert profile.valuation_max_age_seconds <= 86_400  # R5 daily
    assert profile.record_retention_years >= 5  # R51
    assert set(profile.daily_mint_limit_fen) == {"low", "medium", "high"}
    assert profile.redemption_minimum_fen <= 100  # R14: small
    assert profile.mint_approval_threshold_fen <= profile.max_single_mint_fen


def test_redemption_deadlines_and_buffers_differ_per_regime_as_the_r60_table_says() -> None:
    table = {name: load_profile(name) for name in available_profiles()}
    assert {n: p.redemption_deadline_business_days for n, p in table.items()} == {
        "hk": 1,
        "eu-mica": 0,
        "sg-mas": 5,
        "us-genius": 2,
    }
    assert {n: p.reserve_buffer_bps for n, p in table.items()} == {
        "hk": 200,
        "eu-mica": 0,
        "sg-mas": 0,
        "us-genius": 0,
    }


def test_hk_thresholds_are_about_hk_8000_and_large_mints_need_a_second_approver() -> None:
    hk = load_profile("hk")
    assert hk.travel_rule_threshold_fen == 730_000  # R25
    assert hk.cdd_threshold_fen == 730_000  # R26
    assert hk.mint_approval_threshold_fen == 1_000_000_00  # R12, R40
    assert hk.attestation_max_age_seconds == 86_400
    assert hk.holiday_calendar == "hk_holidays.json"


def test_eu_mica_forbids_redemption_fees_so_redemption_pays_full_par() -> None:
    eu = load_profile("eu-mica")
    assert eu.redemption_fee_allowed is False
    assert redemption_fee_fen(1_000_000_00, eu) == 0
    assert redemption_payout_fen(1_000_000_00, eu) == 1_000_000_00


def test_a_profile_allowing_fees_cannot_be_turned_into_eu_mica_with_a_fee() -> None:
    eu = load_profile("eu-mica")
    with pytest.raises(ProfileError, match="must be 0 when fees are not allowed"):
        replace(eu, redemption_fee_bps=10)


def test_unknown_profile_error_lists_the_valid_names() -> None:
    with pytest.raises(UnknownProfileError) as caught:
        load_profile("../hk")
    assert "eu-mica, hk, sg-mas, us-genius" in str(caught.value)
    assert caught.value.valid == ["eu-mica", "hk", "sg-mas", "us-genius"]
    assert isinstance(caught.value, ValueError)


def test_loaded_profiles_cannot_be_changed_by_a_caller() -> None:
    hk = load_profile("hk")
    with pytest.raises(TypeError):
        hk.daily_mint_limit_fen["low"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        hk.reserve_buffer_bps = 0  # type: ignore[misc]
    assert load_profile("hk").daily_mint_limit_fen["low"] == hk.daily_mint_limit_fen["low"]


def test_the_shipped_data_parses_back_to_the_same_profile() -> None:
    assert parse_profile(_hk_data(), source="hk.json") == load_profile("hk")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reserve_buffer_bps": 10_001}, "reserve_buffer_bps must be at most 10000"),
        ({"concentration_limit_bps": -1}, "concentration_limit_bps must not be negative"),
        ({"redemption_minimum_fen": True}, "redemption_minimum_fen must be a whole number (int), got bool"),
        ({"max_single_mint_fen": "100"}, "max_single_mint_fen must be a whole number (int), got str"),
        ({"daily_mint_limit_fen": {"low": 1, "medium": 1}}, "daily_mint_limit_fen must map exactly"),
        ({"daily_redeem_limit_fen": {"low": 1, "medium": 1, "high": -1}}, "daily_redeem_limit_fen['high']"),
        ({"currency_haircuts_bps": {"USD": 100}}, "reference currency CNH a 0 haircut"),
        ({"currency_haircuts_bps": {"CNH": 0, "usd": 1}}, "invalid currency code 'usd'"),
        ({"eligible_asset_kinds": ["cash", "crypto"]}, "eligible_asset_kinds must be a non-empty subset"),
        ({"eligible_asset_kinds": []}, "eligible_asset_kinds must be a non-empty subset"),
        ({"redemption_fee_allowed": "yes"}, "redemption_fee_allowed must be true or false"),
        ({"holiday_calendar": "../etc/passwd"}, "holiday_calendar must be a plain .json file name"),
        ({"record_retention_years": 3}, "record_retention_years must be at least 5"),
        ({"redemption_minimum_fen": 0}, "redemption_minimum_fen must be at least 1 fen"),
        ({"max_single_mint_fen": 10**20}, "max_single_mint_fen must not exceed global_mint_cap_fen"),
        ({"reserve_bufer_bps": 200}, "unknown keys ['reserve_bufer_bps']"),
        ({"attestation_cadence": "fortnightly"}, "attestation_cadence must be one of ['daily', 'weekly', 'monthly']"),
        ({"travel_rule_record_window_seconds": -1}, "travel_rule_record_window_seconds must not be negative"),
    ],
)
def test_invalid_profile_data_is_refused_with_the_field_named(
    change: dict[str, object], message: str
) -> None:
    data = _hk_data() | change
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, source="test.json")
    assert message in str(caught.value)
    assert str(caught.value).startswith("test.json: ")


def test_a_profile_missing_a_setting_is_refused_with_the_missing_key_named() -> None:
    data = _hk_data()
    del data["global_mint_cap_fen"]
    with pytest.raises(ProfileError, match=r"missing keys \['global_mint_cap_fen'\]"):
        parse_profile(data)


@pytest.mark.parametrize("key", ["travel_rule_record_window_seconds", "attestation_cadence"])
def test_settings_that_change_outcomes_are_required_in_the_profile_data(key: str) -> None:
    """R60: the travel-rule flagging window (R25) and the attestation cadence (R52) come from the
    profile's data, never from a default in code."""
    data = _hk_data()
    del data[key]
    with pytest.raises(ProfileError, match=rf"missing keys \['{key}'\]"):
        parse_profile(data)


@pytest.mark.parametrize("name", ["hk", "eu-mica", "sg-mas", "us-genius"])
def test_each_profile_file_sets_the_travel_rule_window_and_a_known_attestation_cadence(name: str) -> None:
    data = json.loads((PROFILES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert data["travel_rule_record_window_seconds"] == 86_400  # R25: a day, as before it was data
    expected = "daily" if name == "hk" else "monthly"  # R60 table: hk daily statement; the others monthly
    assert data["attestation_cadence"] == expected


def test_optional_fee_settings_default_to_zero() -> None:
    data = _hk_data()
    del data["redemption_fee_bps"], data["redemption_fee_fixed_fen"]
    profile = parse_profile(data)
    assert (profile.redemption_fee_bps, profile.redemption_fee_fixed_fen) == (0, 0)


def test_profile_files_with_float_numbers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        (PROFILES_DIR / "hk.json")
        .read_text(encoding="utf-8")
        .replace('"reserve_buffer_bps": 200', '"reserve_buffer_bps": 2.0')
    )
    (tmp_path / "float-test.json").write_text(text.replace('"name": "hk"', '"name": "float-test"'))
    monkeypatch.setattr("compliance.profiles.PROFILES_DIR", tmp_path)
    with pytest.raises(ProfileError, match="must be integers"):
        load_profile("float-test")


def test_regime_names_appear_in_no_code_branch_only_in_data() -> None:
    """R60: no `if profile.name == "hk"` anywhere; the only literal is the default profile name."""
    names = set(available_profiles())
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                offenders.append(f"{path.name}:{node.lineno}:{node.value}")
    assert offenders == [f"profiles.py:{_default_line()}:hk"]


def _default_line() -> int:
    source = (PACKAGE_DIR / "profiles.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if line.startswith("DEFAULT_PROFILE ="))


def test_profile_type_is_constructible_only_with_every_required_setting() -> None:
    with pytest.raises(TypeError):
        RegimeProfile(name="x")  # type: ignore[call-arg]
