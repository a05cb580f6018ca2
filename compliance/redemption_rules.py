"""Redemption rules (R13, R14, R20, R22, R24, R41): at par, minus only a disclosed fee.

`check_redemption` order: paused (R41), KYC (R20), wallet owned (R11/R13), wallet allow-listed
(R22), wallet frozen (R24), below the disclosed minimum (R14), token balance, daily limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance import decision as codes
from compliance._validate import require_bool, require_non_negative, require_positive
from compliance.decision import Decision
from compliance.eligibility import check_customer_and_wallet
from compliance.money import fen_to_units, format_fen, format_units
from compliance.profiles import BPS_DENOMINATOR, RegimeProfile


@dataclass(frozen=True)
class RedemptionContext:
    """Everything `check_redemption` needs, read by the service in the redemption's transaction."""

    amount_fen: int
    customer_kyc_status: str
    customer_risk: str | None
    customer_active: bool
    wallet_owned_by_customer: bool
    wallet_status: str
    wallet_frozen: bool
    paused: bool
    token_balance_units: int  # the wallet's on-chain balance, in token base units (6 decimals)
    redeemed_today_fen: int  # this customer, today
    # R20: a high-risk customer whose enhanced due diligence a second compliance officer has not recorded.
    enhanced_due_diligence_pending: bool = False
    # R12/R40: a per-customer daily limit approved as a limit change; None = the profile's limit by risk.
    daily_limit_fen: int | None = None

    def __post_init__(self) -> None:
        require_positive(self.amount_fen, "amount_fen")
        require_non_negative(self.token_balance_units, "token_balance_units")
        require_non_negative(self.redeemed_today_fen, "redeemed_today_fen")
        for name in ("customer_active", "wallet_owned_by_customer", "wallet_frozen", "paused"):
            require_bool(getattr(self, name), name)
        require_bool(self.enhanced_due_diligence_pending, "enhanced_due_diligence_pending")
        if self.daily_limit_fen is not None:
            require_non_negative(self.daily_limit_fen, "daily_limit_fen")


def redemption_fee_fen(amount_fen: int, profile: RegimeProfile) -> int:
    """R14: the disclosed fee, rounded down in the holder's favour; 0 where fees are not allowed."""
    require_non_negative(amount_fen, "amount_fen")
    if not profile.redemption_fee_allowed:  # R60: eu-mica redemption is free
        return 0
    return amount_fen * profile.redemption_fee_bps // BPS_DENOMINATOR + profile.redemption_fee_fixed_fen


def redemption_payout_fen(amount_fen: int, profile: RegimeProfile) -> int:
    """R13: fiat paid for `amount_fen` of tokens: par minus the disclosed fee (never negative)."""
    return max(0, amount_fen - redemption_fee_fen(amount_fen, profile))


def check_redemption_minimum(amount_fen: int, profile: RegimeProfile) -> Decision | None:
    """R14: the refusal of an amount under the disclosed minimum (the quote gives the same), or None."""
    minimum = redemption_minimum_fen(profile)
    if amount_fen >= minimum:
        return None
    raised = minimum != profile.redemption_minimum_fen
    why = ", the smallest amount the disclosed fee leaves a payout for" if raised else ""
    return Decision.reject(
        codes.BELOW_MINIMUM,
        f"amount {format_fen(amount_fen)} is below the disclosed redemption minimum of {format_fen(minimum)}{why}",
        "R14",
    )


def redemption_minimum_fen(profile: RegimeProfile) -> int:
    """R14: the smallest amount a redemption may ask for, as disclosed in the quote: the profile's
    minimum, raised to the first amount the fee leaves a payout for (a fixed fee can exceed it)."""
    low = profile.redemption_minimum_fen
    if redemption_payout_fen(low, profile) > 0:
        return low
    high = low  # the payout never falls as the amount grows (the fee is under 100%): search for it
    while redemption_payout_fen(high, profile) == 0:
        high *= 2
    while low < high:
        middle = (low + high) // 2
        if redemption_payout_fen(middle, profile) > 0:
            high = middle
        else:
            low = middle + 1
    return low


def check_redemption(ctx: RedemptionContext, profile: RegimeProfile) -> Decision:
    """Decide whether a holder may redeem `ctx.amount_fen`; the first failed check wins."""
    refusal = check_customer_and_wallet(
        action="redemption",
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
    refusal = check_redemption_minimum(amount, profile)
    if refusal is not None:
        return refusal
    if ctx.token_balance_units < fen_to_units(amount):
        return Decision.reject(
            codes.INSUFFICIENT_TOKEN_BALANCE,
            f"the wallet holds {format_units(ctx.token_balance_units)} tCNH, less than the "
            f"{format_fen(amount)} requested",
            "R13",
        )
    # The rating was checked above; a missing limit fails closed (limit 0).
    daily_limit = (
        ctx.daily_limit_fen
        if ctx.daily_limit_fen is not None
        else profile.daily_redeem_limit_fen.get(ctx.customer_risk or "", 0)
    )
    if ctx.redeemed_today_fen + amount > daily_limit:
        left = max(0, daily_limit - ctx.redeemed_today_fen)
        return Decision.reject(
            codes.OVER_DAILY_LIMIT,
            f"amount {format_fen(amount)} is above what is left of today's redemption limit "
            f"({format_fen(left)} of {format_fen(daily_limit)}); redeem less or wait until tomorrow",
            "R12",
        )
    return Decision.allow("redemption allowed")
