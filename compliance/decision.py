"""The answer of every rule check: allowed, or refused with a stable reason code and rule id."""

from __future__ import annotations

from dataclasses import dataclass

# Stable reason codes: clients and the audit log key on these strings, so never rename one.
PAUSED = "paused"
KYC_NOT_APPROVED = "kyc_not_approved"
WALLET_NOT_OWNED = "wallet_not_owned"
WALLET_NOT_ALLOWLISTED = "wallet_not_allowlisted"
WALLET_FROZEN = "wallet_frozen"
OVER_SINGLE_MINT_LIMIT = "over_single_mint_limit"
OVER_DAILY_LIMIT = "over_daily_limit"
OVER_GLOBAL_CAP = "over_global_cap"
INSUFFICIENT_FIAT = "insufficient_fiat"
RESERVE_INSUFFICIENT = "reserve_insufficient"
BELOW_MINIMUM = "below_minimum"
INSUFFICIENT_TOKEN_BALANCE = "insufficient_token_balance"  # noqa: S105 - a reason code, not a secret
SAME_PRINCIPAL = "same_principal"
APPROVER_ROLE_NOT_ALLOWED = "approver_role_not_allowed"
ALREADY_APPROVED = "already_approved"  # R40: one principal counts once
REQUESTER_ROLE_NOT_ALLOWED = "requester_role_not_allowed"
ENHANCED_DUE_DILIGENCE_PENDING = "enhanced_due_diligence_pending"  # R20
SANCTIONS_HIT = "sanctions_hit"  # R23
TRAVEL_RULE_DATA_MISSING = "travel_rule_data_missing"  # R25
PERMIT_INVALID = "permit_invalid"  # R13: not the holder's canonical EIP-2612 signature for this redemption
PERMIT_EXPIRED = "permit_expired"  # R13: the deadline leaves too little time for the burn to land


@dataclass(frozen=True)
class Decision:
    """Outcome of a rule check. A refusal always carries a reason code, a message and a rule id."""

    allowed: bool
    reason_code: str | None = None
    message: str = ""
    rule_id: str | None = None
    needs_second_approval: bool = False

    def __post_init__(self) -> None:
        if self.allowed and self.reason_code is not None:
            raise ValueError("an allowed decision has no reason_code")
        if not self.allowed and (not self.reason_code or not self.rule_id):
            raise ValueError("a refusal needs a reason_code and a rule_id")
        if not self.allowed and self.needs_second_approval:
            raise ValueError("a refusal cannot need a second approval")

    @classmethod
    def allow(
        cls, message: str = "", *, needs_second_approval: bool = False, rule_id: str | None = None
    ) -> Decision:
        return cls(True, None, message, rule_id, needs_second_approval)

    @classmethod
    def reject(cls, code: str, message: str, rule_id: str) -> Decision:
        return cls(False, code, message, rule_id)
