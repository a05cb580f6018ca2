"""Mint rules (R1, R10, R11, R12, R20, R22, R24, R40, R41) as one pure function.

`check_mint` runs the checks in a fixed, documented order and returns the first refusal:
  1. paused                  R41   5. wallet frozen            R24   9. insufficient fiat  R10
  2. KYC / customer active   R20   6. over single-mint limit   R12  10. reserve check     R1
  3. wallet not owned        R11   7. over daily limit (risk)  R12
  4. wallet not allow-listed R22   8. over global cap          R12
An allowed mint at or above the profile's approval threshold needs a second approver (R12, R40).

The redemption and approval rules live in their own modules and are re-exported here, so callers
import every issuance rule from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance import decision as codes
from compliance._validate import require_bool, require_non_negative, require_positive
from compliance.approvals import check_second_approval
from compliance.decision import Decision
from compliance.eligibility import check_customer_and_wallet
from compliance.money import format_fen
from compliance.profiles import RegimeProfile
from compliance.redemption_rules import (
    RedemptionContext,
    check_redemption,
    redemption_fee_fen,
    redemption_payout_fen,
)
from compliance.reserve_policy import required_reserve_fen, reserve_covers

__all__ = [
    "Decision",
    "MintContext",
    "RedemptionContext",
    "check_daily_mint_limit",
    "check_mint",
    "check_redemption",
    "check_second_approval",
    "redemption_fee_fen",
    "redemption_payout_fen",
]


@dataclass(frozen=True)
class MintContext:
    """Everything `check_mint` needs, read by the service in the mint's transaction."""

    amount_fen: int
    customer_kyc_status: str  # "pending" | "approved" | "rejected"
    customer_risk: str | None  # "low" | "medium" | "high" | None (not yet rated)
    customer_active: bool
    customer_available_fen: int  # confirmed fiat not yet allocated to a mint (R10)
    wallet_owned_by_customer: bool
    wallet_status: str  # "pending" | "active" | "revoked" | ...
    wallet_frozen: bool
    paused: bool
    reserve_pool_fen: int  # reserve assets before this mint (R1)
    outstanding_supply_fen: int  # confirmed plus in-flight mints, frozen tokens included (R1)
    minted_today_fen: int  # this customer, today (R12)
    global_issued_fen: int  # counted against the global cap (R12)
    # R20: a high-risk customer whose enhanced due diligence a second compliance officer has not recorded.
    enhanced_due_diligence_pending: bool = False
    # R12/R40: a per-customer daily limit approved as a limit change; None = the profile's limit by risk.
    daily_limit_fen: int | None = None

    def __post_init__(self) -> None:
        require_positive(self.amount_fen, "amount_fen")
        for name in (
            "customer_available_fen",
            "reserve_pool_fen",
            "outstanding_supply_fen",
            "minted_today_fen",
            "global_issued_fen",
        ):
            require_non_negative(getattr(self, name), name)
        for name in ("customer_active", "wallet_owned_by_customer", "wallet_frozen", "paused"):
            require_bool(getattr(self, name), name)
        require_bool(self.enhanced_due_diligence_pending, "enhanced_due_diligence_pending")
        if self.daily_limit_fen is not None:
            require_non_negative(self.daily_limit_fen, "daily_limit_fen")


def check_mint(ctx: MintContext, profile: RegimeProfile) -> Decision:
    """Decide whether a customer may mint `ctx.amount_fen`; the first failed check wins."""
    refusal = check_customer_and_wallet(
        action="mint",
        paused=ctx.paused,
        customer_kyc_status=ctx.customer_kyc_status,
        customer_risk=ctx.customer_risk,
        customer_active=ctx.customer_active,
        wallet_owned_by_customer=ctx.wallet_owned_by_customer,
        wallet_status=ctx.wallet_status,
        wallet_frozen=ctx.wallet_frozen,
        enhanced_due_diligence_pending=ctx.enhanced_due_diligence_pending,
    )
    if refusal is not None:
        return refusal
    amount = ctx.amount_fen
    if amount > profile.max_single_mint_fen:  # R12
        return Decision.reject(
            codes.OVER_SINGLE_MINT_LIMIT,
            f"amount {format_fen(amount)} is above the single-mint limit of "
            f"{format_fen(profile.max_single_mint_fen)}; split it into smaller mints",
            "R12",
        )
    refusal = check_daily_mint_limit(
        amount,
        minted_today_fen=ctx.minted_today_fen,
        customer_risk=ctx.customer_risk,
        daily_limit_fen=ctx.daily_limit_fen,
        profile=profile,
    )
    if refusal is not None:
        return refusal
    if ctx.global_issued_fen + amount > profile.global_mint_cap_fen:  # R12
        left = max(0, profile.global_mint_cap_fen - ctx.global_issued_fen)
        return Decision.reject(
            codes.OVER_GLOBAL_CAP,
            f"amount {format_fen(amount)} would pass the global mint cap "
            f"({format_fen(left)} left of {format_fen(profile.global_mint_cap_fen)})",
            "R12",
        )
    if ctx.customer_available_fen < amount:  # R10: no fiat, no token
        return Decision.reject(
            codes.INSUFFICIENT_FIAT,
            f"amount {format_fen(amount)} is more than the confirmed fiat available "
            f"({format_fen(ctx.customer_available_fen)}); deposit more or mint less",
            "R10",
        )
    # R1: the customer's fiat joins the reserve pool as the tokens are issued.
    reserve_after = ctx.reserve_pool_fen + amount
    supply_after = ctx.outstanding_supply_fen + amount
    if not reserve_covers(reserve_after, supply_after, profile.reserve_buffer_bps):
        shortfall = required_reserve_fen(supply_after, profile.reserve_buffer_bps) - reserve_after
        return Decision.reject(
            codes.RESERVE_INSUFFICIENT,
            f"after this mint reserves would be {format_fen(shortfall)} short of outstanding supply plus "
            f"the {_percent(profile.reserve_buffer_bps)} buffer; treasury must add reserves first",
            "R1",
        )
    if amount >= profile.mint_approval_threshold_fen:  # R12, R40
        return Decision.allow(
            f"mint allowed once a second approver confirms (amount at or above "
            f"{format_fen(profile.mint_approval_threshold_fen)})",
            needs_second_approval=True,
            rule_id="R40",
        )
    return Decision.allow("mint allowed")


def check_daily_mint_limit(
    amount_fen: int,
    *,
    minted_today_fen: int,
    customer_risk: str | None,
    daily_limit_fen: int | None,
    profile: RegimeProfile,
    fix: str = "mint less or wait until tomorrow",
) -> Decision | None:
    """R12: the customer's daily mint limit (an approved override, else the profile's for the risk
    rating); the refusal, saying `fix`, or None. Also run when a large mint is approved, under the
    rating in force then."""
    # The rating is checked before this; a missing limit fails closed (limit 0).
    daily_limit = (
        daily_limit_fen if daily_limit_fen is not None else profile.daily_mint_limit_fen.get(customer_risk or "", 0)
    )
    if minted_today_fen + amount_fen <= daily_limit:
        return None
    left = max(0, daily_limit - minted_today_fen)
    return Decision.reject(
        codes.OVER_DAILY_LIMIT,
        f"amount {format_fen(amount_fen)} is above what is left of today's mint limit for "
        f"{_limit_owner(customer_risk, daily_limit_fen)} "
        f"({format_fen(left)} of {format_fen(daily_limit)}); {fix}",
        "R12",
    )


def _limit_owner(risk: str | None, override_fen: int | None) -> str:
    return f"a {risk}-risk customer" if override_fen is None else "this customer (approved limit change)"


def _percent(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"
