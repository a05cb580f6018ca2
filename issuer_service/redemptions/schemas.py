"""Redemption shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.addresses import AddressIn
from issuer_service.money import FenAmount, FenString
from issuer_service.travel_rule.schemas import TravelRuleIn

RedemptionStatus = Literal["requested", "burn_submitted", "burned", "paid", "rejected", "failed"]
Bytes32Hex = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^0x[0-9a-fA-F]{64}$")]


class PermitIn(BaseModel):
    """The wallet's EIP-2612 permit letting `redemption_spender` (GET /v1/token) burn the amount; part of a
    redemption request."""

    model_config = ConfigDict(extra="forbid")

    # strict: JSON integers only (true or "27" is refused, not coerced)
    deadline: int = Field(ge=0, lt=2**63, strict=True, description="Unix time after which the permit is void.",
                          examples=[1795636179])
    v: int = Field(ge=0, le=255, strict=True, description="Signature v (27 or 28).", examples=[27])
    r: Bytes32Hex = Field(description="Signature r, 0x + 64 hex.", examples=["0x" + "ab" * 32])
    s: Bytes32Hex = Field(description="Signature s, 0x + 64 hex.", examples=["0x" + "cd" * 32])


class RedemptionCreate(BaseModel):
    """A holder's redemption request (POST /v1/redemptions): burn tokens from their wallet with a permit, then
    be paid fiat at par less the disclosed fee (R13, R14, R16), with travel-rule data (R25)."""

    model_config = ConfigDict(extra="forbid")

    wallet: AddressIn = Field(
        description="Your active wallet holding the tokens.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    amount: FenAmount = Field(description="CNH amount to redeem as a decimal string (tokens burned 1:1).",
                              examples=["100.00"])
    permit: PermitIn = Field(description="EIP-2612 permit by the wallet for `redemption_spender` (GET /v1/token), "
                                         "value = amount in token units, nonce = the wallet's current nonce.")
    travel_rule: TravelRuleIn | None = Field(
        default=None, description="Originator and beneficiary data (R25). From the profile's threshold "
                                  "(GET /v1/travel-rule/requirements) the full set is required: name, account, and "
                                  "address or id_number for each; below it, blanks are filled from your KYC file.",
        examples=[{"originator": {"name": "Lotus Trading Ltd", "account": "0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440",
                                  "id_number": "LEI 5493001KJTIIGC8Y1R12"},
                   "beneficiary": {"name": "Lotus Trading Ltd", "account": "HK-SANDBOX-BANK 012-345678-001",
                                   "address": "1 Sandbox Road, Central, Hong Kong"}}])


class QuoteOut(BaseModel):
    """What redeeming an amount now would cost and by when it would be paid (GET /v1/redemptions/quote),
    disclosed before you ask (R13, R14)."""

    amount: FenString = Field(description="Tokens to burn, in CNH.", examples=["100.00"])
    fee: FenString = Field(description="Fee disclosed before the request (R14).", examples=["0.00"])
    payout: FenString = Field(description="Fiat paid at par less the fee (R13).", examples=["100.00"])
    deadline_at: datetime = Field(description="Latest payout time if requested now (R13).",
                                  examples=["2025-11-26T15:59:59Z"])
    minimum: FenString = Field(description="Smallest redemption (R14).", examples=["1.00"])
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])


class RedemptionOut(BaseModel):
    """A redemption as the service sees it: status, fee and payout, burn transaction, payout deadline and
    whether it was met (R13, R14, R16). The answer of every /v1/redemptions route but the quote."""

    id: str = Field(description="Redemption id.", examples=["red_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(description="The customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    wallet: str = Field(description="Wallet burned from.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    amount: FenString = Field(description="Amount redeemed.", examples=["100.00"])
    fee: FenString = Field(description="Fee charged (R14).", examples=["0.00"])
    payout: FenString = Field(description="Fiat paid out at par less fee (R13).", examples=["100.00"])
    status: RedemptionStatus = Field(description="requested → burn_submitted → burned → paid, or rejected/failed.",
                                     examples=["paid"])
    reason_code: str | None = Field(description="Why it failed.", examples=[None])
    reason: str | None = Field(description="Human explanation.", examples=[None])
    chain_request_id: str = Field(description="requestId in the on-chain Redeemed event.", examples=["0x" + "12" * 32])
    burn_tx_hash: str | None = Field(description="Burn transaction.", examples=[None])
    block_number: int | None = Field(description="Block of the burn.", examples=[None])
    payout_reference: str | None = Field(description="Sandbox bank payout reference.", examples=[None])
    deadline_at: datetime = Field(description="Payout deadline (R13).", examples=["2025-11-26T15:59:59Z"])
    paid_at: datetime | None = Field(description="When paid out.", examples=[None])
    sla_met: bool | None = Field(description="Paid by the deadline; null until paid.", examples=[None])
    audit_ref: int | None = Field(
        description="Sequence number of the latest audit record of this redemption; null in the answer to the request "
        "that made the change (records are chained as it commits): GET the redemption to read it.",
        examples=[57],
    )
    created_at: datetime = Field(description="When requested (UTC).", examples=["2025-11-25T18:44:00Z"])
    updated_at: datetime = Field(description="Last change (UTC).", examples=["2025-11-25T18:44:02Z"])
