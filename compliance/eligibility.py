"""Checks every mint and redemption shares: pause, customer due diligence, the wallet.

They run first and in this order, so a paused system says "paused" before anything else.
"""

from __future__ import annotations

from compliance import decision as codes
from compliance.decision import Decision
from compliance.profiles import RISK_LEVELS

KYC_APPROVED = "approved"
WALLET_ACTIVE = "active"


def check_customer_and_wallet(
    *,
    action: str,
    paused: bool,
    customer_kyc_status: str,
    customer_risk: str | None,
    customer_active: bool,
    wallet_owned_by_customer: bool,
    wallet_status: str,
    wallet_frozen: bool,
    enhanced_due_diligence_pending: bool = False,
) -> Decision | None:
    """Return the first refusal, or None when the customer and wallet may proceed."""
    if paused:  # R41
        return Decision.reject(
            codes.PAUSED, f"the service is paused; no {action} is possible until it is resumed", "R41"
        )
    if not customer_active:  # R23: the only way a customer stops being active is a screening hit
        return Decision.reject(
            codes.SANCTIONS_HIT,
            f"the customer is blocked by a sanctions screening case; no {action} is possible until "
            "compliance clears it",
            "R23",
        )
    if customer_kyc_status != KYC_APPROVED:  # R20
        return Decision.reject(
            codes.KYC_NOT_APPROVED,
            f"customer due diligence is not approved (status {customer_kyc_status!r}); complete KYC before any "
            f"{action}",
            "R20",
        )
    if customer_risk not in RISK_LEVELS:  # R20: a risk rating is part of due diligence
        return Decision.reject(
            codes.KYC_NOT_APPROVED,
            f"customer has no valid risk rating ({customer_risk!r}, expected one of {list(RISK_LEVELS)}); "
            f"compliance must rate the customer before any {action}",
            "R20",
        )
    if enhanced_due_diligence_pending:  # R20: high risk needs EDD before activation
        return Decision.reject(
            codes.ENHANCED_DUE_DILIGENCE_PENDING,
            f"the customer is rated high risk and enhanced due diligence has not been recorded by a second "
            f"compliance officer yet; no {action} is possible until it is",
            "R20",
        )
    if not wallet_owned_by_customer:  # R11, R13
        return Decision.reject(
            codes.WALLET_NOT_OWNED,
            "the wallet is not bound to this customer; bind it by signing a challenge first",
            "R11",
        )
    if wallet_status != WALLET_ACTIVE:  # R11, R22
        return Decision.reject(
            codes.WALLET_NOT_ALLOWLISTED,
            f"the wallet is not on the allow-list (status {wallet_status!r}); wait until it is active",
            "R22",
        )
    if wallet_frozen:  # R24
        return Decision.reject(
            codes.WALLET_FROZEN, "the wallet is frozen by compliance; contact compliance", "R24"
        )
    return None
