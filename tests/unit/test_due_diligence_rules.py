"""R20 enhanced due diligence and R12 per-customer limit overrides in the mint and redemption
rules: pure checks over the contexts the services build."""

from __future__ import annotations

from collections.abc import Callable

from compliance.mint_rules import MintContext, RedemptionContext, check_mint, check_redemption
from compliance.profiles import RegimeProfile


def test_pending_enhanced_due_diligence_refuses_mints_and_redemptions_before_any_wallet_check(
    hk: RegimeProfile, mint_ctx: Callable[..., MintContext], redemption_ctx: Callable[..., RedemptionContext]
) -> None:
    for decision in (
        check_mint(
            mint_ctx(customer_risk="high", enhanced_due_diligence_pending=True, wallet_owned_by_customer=False), hk
        ),
        check_redemption(redemption_ctx(customer_risk="high", enhanced_due_diligence_pending=True), hk),
    ):
        assert (decision.allowed, decision.reason_code, decision.rule_id) == (
            False,
            "enhanced_due_diligence_pending",
            "R20",
        )


def test_kyc_and_pause_are_still_checked_before_enhanced_due_diligence(
    hk: RegimeProfile, mint_ctx: Callable[..., MintContext]
) -> None:
    assert check_mint(mint_ctx(paused=True, enhanced_due_diligence_pending=True), hk).reason_code == "paused"
    assert (
        check_mint(mint_ctx(customer_kyc_status="pending", enhanced_due_diligence_pending=True), hk).reason_code
        == "kyc_not_approved"
    )


def test_completed_enhanced_due_diligence_lets_a_high_risk_customer_mint_within_the_high_risk_limit(
    hk: RegimeProfile, mint_ctx: Callable[..., MintContext]
) -> None:
    assert check_mint(mint_ctx(customer_risk="high", enhanced_due_diligence_pending=False), hk).allowed


def test_an_approved_limit_override_replaces_the_profile_limit_for_the_customer_s_risk(
    hk: RegimeProfile, mint_ctx: Callable[..., MintContext], redemption_ctx: Callable[..., RedemptionContext]
) -> None:
    over_profile = hk.daily_mint_limit_fen["low"] + 1
    raised = mint_ctx(
        amount_fen=over_profile,
        customer_available_fen=over_profile,
        reserve_pool_fen=100_000_000_00,
        daily_limit_fen=over_profile,
    )
    assert check_mint(raised, hk).allowed
    lowered = check_mint(mint_ctx(daily_limit_fen=999_99), hk)  # 1,000.00 asked
    assert (lowered.reason_code, lowered.rule_id) == ("over_daily_limit", "R12")
    assert "approved limit change" in lowered.message
    assert check_redemption(redemption_ctx(daily_limit_fen=499_99), hk).reason_code == "over_daily_limit"
    assert check_redemption(redemption_ctx(daily_limit_fen=500_00), hk).allowed
