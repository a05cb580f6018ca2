"""check_mint: every reason code, in the documented order (R1, R10-R12, R20, R22, R24, R40, R41)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from compliance.decision import Decision
from compliance.mint_rules import MintContext, check_mint
from compliance.profiles import RegimeProfile, load_profile

MakeMint = Callable[..., MintContext]


def test_a_mint_that_passes_every_rule_is_allowed_without_second_approval(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    decision = check_mint(mint_ctx(), hk)
    assert decision == Decision(True, None, "mint allowed", None, False)


@pytest.mark.parametrize(
    ("changes", "code", "rule"),
    [
        ({"paused": True}, "paused", "R41"),
        ({"customer_kyc_status": "pending"}, "kyc_not_approved", "R20"),
        ({"customer_kyc_status": "rejected"}, "kyc_not_approved", "R20"),
        ({"customer_active": False}, "sanctions_hit", "R23"),  # blocked by a screening case
        ({"customer_risk": None}, "kyc_not_approved", "R20"),
        ({"customer_risk": "extreme"}, "kyc_not_approved", "R20"),
        ({"wallet_owned_by_customer": False}, "wallet_not_owned", "R11"),
        ({"wallet_status": "pending"}, "wallet_not_allowlisted", "R22"),
        ({"wallet_status": "revoked"}, "wallet_not_allowlisted", "R22"),
        ({"wallet_frozen": True}, "wallet_frozen", "R24"),
        ({"amount_fen": 10_000_000_01, "customer_available_fen": 10**12}, "over_single_mint_limit", "R12"),
        ({"minted_today_fen": 5_000_000_00 - 1_000_00 + 1}, "over_daily_limit", "R12"),
        ({"global_issued_fen": 1_000_000_000_00 - 1_000_00 + 1}, "over_global_cap", "R12"),
        ({"customer_available_fen": 1_000_00 - 1}, "insufficient_fiat", "R10"),
        ({"reserve_pool_fen": 1_000_000_00}, "reserve_insufficient", "R1"),
    ],
)
def test_each_failed_rule_rejects_the_mint_with_its_reason_code_and_rule_id(
    mint_ctx: MakeMint, hk: RegimeProfile, changes: dict[str, object], code: str, rule: str
) -> None:
    decision = check_mint(mint_ctx(**changes), hk)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (False, code, rule)
    assert decision.message
    assert decision.needs_second_approval is False


def test_checks_run_in_the_documented_order_and_the_first_failure_wins(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    ctx = mint_ctx(
        paused=True,
        customer_kyc_status="pending",
        wallet_owned_by_customer=False,
        wallet_status="pending",
        wallet_frozen=True,
        amount_fen=hk.max_single_mint_fen + 1,
        minted_today_fen=hk.daily_mint_limit_fen["low"],
        global_issued_fen=hk.global_mint_cap_fen,
        customer_available_fen=0,
        reserve_pool_fen=0,
    )
    fixes: list[tuple[str, dict[str, object]]] = [
        ("paused", {"paused": False}),
        ("kyc_not_approved", {"customer_kyc_status": "approved"}),
        ("wallet_not_owned", {"wallet_owned_by_customer": True}),
        ("wallet_not_allowlisted", {"wallet_status": "active"}),
        ("wallet_frozen", {"wallet_frozen": False}),
        ("over_single_mint_limit", {"amount_fen": 1_000_00}),
        ("over_daily_limit", {"minted_today_fen": 0}),
        ("over_global_cap", {"global_issued_fen": 0}),
        ("insufficient_fiat", {"customer_available_fen": 1_000_00}),
        ("reserve_insufficient", {"reserve_pool_fen": 1_030_000_00}),
    ]
    seen = []
    for _expected, fix in fixes:
        seen.append(check_mint(ctx, hk).reason_code)
        ctx = replace(ctx, **fix)  # type: ignore[arg-type]
    assert seen == [code for code, _ in fixes]
    assert check_mint(ctx, hk).allowed is True


def test_mint_above_reserve_is_rejected_with_reason_reserve_insufficient(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    # Reserve pool equals supply: the incoming fiat covers the new tokens 1:1 but not the 2% buffer.
    decision = check_mint(mint_ctx(reserve_pool_fen=1_000_000_00, outstanding_supply_fen=1_000_000_00), hk)
    assert decision.reason_code == "reserve_insufficient"
    assert "2.00% buffer" in decision.message


def test_mint_leaving_reserves_exactly_at_supply_plus_buffer_is_allowed_and_one_fen_less_is_not(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    amount, supply = 1_000_00, 1_000_000_00
    # After the mint: reserve + amount == (supply + amount) * 1.02 exactly.
    exact_reserve = (supply + amount) * 10_200 // 10_000 - amount
    assert (supply + amount) * 10_200 % 10_000 == 0
    at_limit = mint_ctx(amount_fen=amount, outstanding_supply_fen=supply, reserve_pool_fen=exact_reserve)
    assert check_mint(at_limit, hk).allowed is True
    below = replace(at_limit, reserve_pool_fen=exact_reserve - 1)
    assert check_mint(below, hk).reason_code == "reserve_insufficient"


def test_the_buffer_comes_from_the_profile_so_eu_mica_allows_a_one_to_one_backed_mint(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    ctx = mint_ctx(reserve_pool_fen=1_000_000_00, outstanding_supply_fen=1_000_000_00)
    assert check_mint(ctx, hk).reason_code == "reserve_insufficient"
    assert check_mint(ctx, load_profile("eu-mica")).allowed is True


def test_mint_at_the_approval_threshold_needs_a_second_approver_and_one_fen_below_does_not(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    threshold = hk.mint_approval_threshold_fen
    big = mint_ctx(amount_fen=threshold, customer_available_fen=threshold, reserve_pool_fen=1_100_000_000_00)
    decision = check_mint(big, hk)
    assert (decision.allowed, decision.needs_second_approval, decision.rule_id) == (True, True, "R40")
    assert check_mint(replace(big, amount_fen=threshold - 1), hk).needs_second_approval is False


def test_daily_limit_depends_on_the_customer_risk_rating(mint_ctx: MakeMint, hk: RegimeProfile) -> None:
    amount = hk.daily_mint_limit_fen["high"] + 1
    ctx = mint_ctx(amount_fen=amount, customer_available_fen=amount, reserve_pool_fen=10**12)
    assert check_mint(replace(ctx, customer_risk="medium"), hk).allowed is True
    high = check_mint(replace(ctx, customer_risk="high"), hk)
    assert high.reason_code == "over_daily_limit"
    assert "high-risk" in high.message


def test_daily_limit_counts_what_the_customer_already_minted_today(
    mint_ctx: MakeMint, hk: RegimeProfile
) -> None:
    limit = hk.daily_mint_limit_fen["low"]
    assert check_mint(mint_ctx(minted_today_fen=limit - 1_000_00), hk).allowed is True
    decision = check_mint(mint_ctx(minted_today_fen=limit - 1_000_00 + 1), hk)
    assert decision.reason_code == "over_daily_limit"
    assert "999.99 of 5000000.00" in decision.message


def test_insufficient_fiat_message_says_how_much_is_available(mint_ctx: MakeMint, hk: RegimeProfile) -> None:
    decision = check_mint(mint_ctx(customer_available_fen=250_00), hk)
    assert decision.reason_code == "insufficient_fiat"
    assert "(250.00)" in decision.message


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_fen": 0},
        {"amount_fen": -1},
        {"amount_fen": 1.5},
        {"amount_fen": True},
        {"reserve_pool_fen": -1},
        {"paused": 1},
    ],
)
def test_a_mint_context_with_non_int_or_non_positive_money_cannot_be_built(
    mint_ctx: MakeMint, changes: dict[str, object]
) -> None:
    with pytest.raises((TypeError, ValueError)):
        mint_ctx(**changes)


def test_decision_refuses_contradictory_states() -> None:
    with pytest.raises(ValueError):
        Decision(False)
    with pytest.raises(ValueError):
        Decision(True, reason_code="paused")
    with pytest.raises(ValueError):
        Decision(False, "paused", "m", "R41", needs_second_approval=True)
    assert Decision.reject("paused", "m", "R41") == Decision(False, "paused", "m", "R41")
