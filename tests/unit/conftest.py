"""Fixtures for the pure compliance tests: real shipped profiles, contexts that pass every check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from compliance.mint_rules import MintContext, RedemptionContext
from compliance.money import fen_to_units
from compliance.profiles import RegimeProfile, load_profile


@pytest.fixture
def hk() -> RegimeProfile:
    return load_profile("hk")


def _allowed_mint() -> MintContext:
    # 1,000 CNH mint by a low-risk customer; reserves 1.03M CNH against 1M CNH supply covers the
    # 2% hk buffer after the mint.
    return MintContext(
        amount_fen=1_000_00,
        customer_kyc_status="approved",
        customer_risk="low",
        customer_active=True,
        customer_available_fen=10_000_00,
        wallet_owned_by_customer=True,
        wallet_status="active",
        wallet_frozen=False,
        paused=False,
        reserve_pool_fen=1_030_000_00,
        outstanding_supply_fen=1_000_000_00,
        minted_today_fen=0,
        global_issued_fen=1_000_000_00,
    )


def _allowed_redemption() -> RedemptionContext:
    return RedemptionContext(
        amount_fen=500_00,
        customer_kyc_status="approved",
        customer_risk="low",
        customer_active=True,
        wallet_owned_by_customer=True,
        wallet_status="active",
        wallet_frozen=False,
        paused=False,
        token_balance_units=fen_to_units(1_000_00),
        redeemed_today_fen=0,
    )


@pytest.fixture
def mint_ctx() -> Callable[..., MintContext]:
    """mint_ctx(**changes): a mint context that passes every check, with `changes` applied."""

    def make(**changes: object) -> MintContext:
        return replace(_allowed_mint(), **changes)  # type: ignore[arg-type]

    return make


@pytest.fixture
def redemption_ctx() -> Callable[..., RedemptionContext]:
    """redemption_ctx(**changes): a redemption context that passes every check."""

    def make(**changes: object) -> RedemptionContext:
        return replace(_allowed_redemption(), **changes)  # type: ignore[arg-type]

    return make
