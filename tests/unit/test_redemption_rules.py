"""check_redemption and the redemption fee: par minus a disclosed fee (R13, R14)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.mint_rules import (
    RedemptionContext,
    check_redemption,
    redemption_fee_fen,
    redemption_payout_fen,
)
from compliance.money import fen_to_units
from compliance.profiles import RegimeProfile, load_profile
from compliance.redemption_rules import check_redemption_minimum, redemption_minimum_fen

MakeRedemption = Callable[..., RedemptionContext]


def test_a_redemption_that_passes_every_rule_is_allowed(
    redemption_ctx: MakeRedemption, hk: RegimeProfile
) -> None:
    decision = check_redemption(redemption_ctx(), hk)
    assert (decision.allowed, decision.reason_code, decision.needs_second_approval) == (True, None, False)


@pytest.mark.parametrize(
    ("changes", "code", "rule"),
    [
        ({"paused": True}, "paused", "R41"),
        ({"customer_kyc_status": "pending"}, "kyc_not_approved", "R20"),
        ({"customer_active": False}, "sanctions_hit", "R23"),  # blocked by a screening case
        ({"wallet_owned_by_customer": False}, "wallet_not_owned", "R11"),
        ({"wallet_status": "revoked"}, "wallet_not_allowlisted", "R22"),
        ({"wallet_frozen": True}, "wallet_frozen", "R24"),
        ({"amount_fen": 99}, "below_minimum", "R14"),
        ({"token_balance_units": fen_to_units(500_00) - 1}, "insufficient_token_balance", "R13"),
        ({"redeemed_today_fen": 5_000_000_00 - 500_00 + 1}, "over_daily_limit", "R12"),
    ],
)
def test_each_failed_rule_rejects_the_redemption_with_its_reason_code(
    redemption_ctx: MakeRedemption, hk: RegimeProfile, changes: dict[str, object], code: str, rule: str
) -> None:
    decision = check_redemption(redemption_ctx(**changes), hk)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (False, code, rule)
    assert decision.message


def test_redemption_checks_run_in_the_documented_order(
    redemption_ctx: MakeRedemption, hk: RegimeProfile
) -> None:
    ctx = redemption_ctx(
        paused=True,
        customer_kyc_status="rejected",
        wallet_owned_by_customer=False,
        wallet_status="pending",
        wallet_frozen=True,
        amount_fen=50,
        token_balance_units=0,
        redeemed_today_fen=hk.daily_redeem_limit_fen["low"],
    )
    fixes: list[tuple[str, dict[str, object]]] = [
        ("paused", {"paused": False}),
        ("kyc_not_approved", {"customer_kyc_status": "approved"}),
        ("wallet_not_owned", {"wallet_owned_by_customer": True}),
        ("wallet_not_allowlisted", {"wallet_status": "active"}),
        ("wallet_frozen", {"wallet_frozen": False}),
        ("below_minimum", {"amount_fen": 500_00}),
        ("insufficient_token_balance", {"token_balance_units": fen_to_units(500_00)}),
        ("over_daily_limit", {"redeemed_today_fen": 0}),
    ]
    seen = []
    for _expected, fix in fixes:
        seen.append(check_redemption(ctx, hk).reason_code)
        ctx = replace(ctx, **fix)  # type: ignore[arg-type]
    assert seen == [code for code, _ in fixes]
    assert check_redemption(ctx, hk).allowed is True


def test_redeeming_exactly_the_wallet_balance_is_allowed(
    redemption_ctx: MakeRedemption, hk: RegimeProfile
) -> None:
    ctx = redemption_ctx(amount_fen=1_000_00, token_balance_units=fen_to_units(1_000_00))
    assert check_redemption(ctx, hk).allowed is True


def test_eu_mica_redemption_has_no_practical_minimum(redemption_ctx: MakeRedemption) -> None:
    eu = load_profile("eu-mica")
    assert check_redemption(redemption_ctx(amount_fen=1), eu).allowed is True


def test_shipped_profiles_charge_no_redemption_fee_so_holders_get_par() -> None:
    for name in ("hk", "eu-mica", "sg-mas", "us-genius"):
        profile = load_profile(name)
        assert redemption_fee_fen(123_456_78, profile) == 0
        assert redemption_payout_fen(123_456_78, profile) == 123_456_78


def test_a_disclosed_fee_is_basis_points_rounded_down_plus_the_fixed_part(hk: RegimeProfile) -> None:
    priced = replace(hk, redemption_fee_bps=25, redemption_fee_fixed_fen=100)
    # 0.25% of 1,000.01 CNH = 250.0025 fen -> 250 fen, plus 1.00 CNH fixed.
    assert redemption_fee_fen(1_000_01, priced) == 350
    assert redemption_payout_fen(1_000_01, priced) == 1_000_01 - 350


def test_a_redemption_whose_fee_would_eat_the_whole_amount_is_refused(
    redemption_ctx: MakeRedemption, hk: RegimeProfile
) -> None:
    priced = replace(hk, redemption_fee_fixed_fen=200)
    decision = check_redemption(redemption_ctx(amount_fen=150), priced)
    assert decision.reason_code == "below_minimum"
    # R14: the minimum disclosed is the real one, 2.01 CNH: the first amount the 2.00 fee leaves a payout for.
    assert "minimum of 2.01, the smallest amount the disclosed fee leaves a payout for" in decision.message
    assert redemption_minimum_fen(priced) == 201
    assert check_redemption(redemption_ctx(amount_fen=201), priced).allowed


@given(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=9_999),
    st.integers(min_value=0, max_value=10**6),
)
def test_the_disclosed_minimum_is_the_smallest_amount_that_is_accepted_and_pays_out(
    minimum: int, fee_bps: int, fixed: int
) -> None:  # R14
    priced = replace(
        load_profile("hk"), redemption_minimum_fen=minimum, redemption_fee_bps=fee_bps, redemption_fee_fixed_fen=fixed
    )
    lowest = redemption_minimum_fen(priced)
    assert lowest >= minimum and redemption_payout_fen(lowest, priced) > 0
    assert lowest == minimum or redemption_payout_fen(lowest - 1, priced) == 0
    assert check_redemption_minimum(lowest, priced) is None
    assert lowest == 1 or check_redemption_minimum(lowest - 1, priced) is not None


@given(st.integers(min_value=0, max_value=10**17), st.integers(min_value=0, max_value=9_999))
def test_fee_never_exceeds_the_bps_share_and_payout_is_never_negative(amount: int, fee_bps: int) -> None:
    priced = replace(load_profile("hk"), redemption_fee_bps=fee_bps)
    fee = redemption_fee_fen(amount, priced)
    assert fee * 10_000 <= amount * fee_bps
    assert 0 <= redemption_payout_fen(amount, priced) <= amount


def test_redemption_context_counts_the_on_chain_balance_in_token_units(
    redemption_ctx: MakeRedemption,
) -> None:
    with pytest.raises(TypeError):
        redemption_ctx(token_balance_units=1.0)
    with pytest.raises(ValueError):
        redemption_ctx(amount_fen=0)
