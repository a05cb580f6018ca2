"""Freeze, unfreeze and seizure shapes (R24)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.addresses import AddressIn
from issuer_service.money import FenAmount, FenString

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
LegalBasis = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]
SeizureStatus = Literal[
    "pending_approval",
    "approved",
    "burn_submitted",
    "burned",
    "remint_submitted",
    "completed",
    "rejected",
    "failed",
    "remint_failed",
]


class FreezeIn(BaseModel):
    """Compliance freezes a wallet on chain, no send and no receive (POST /v1/wallets/{address}/freeze, R24)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(
        description="Why the wallet is frozen; kept in the audit log (R24, R50).",
        examples=["suspected account takeover reported by the customer"],
    )
    legal_basis: LegalBasis | None = Field(
        default=None, description="Order or statute relied on, if any.", examples=["HKMA direction ref. SBX-2026-001"]
    )


class UnfreezeIn(BaseModel):
    """Compliance lifts its freeze of a wallet (POST /v1/wallets/{address}/unfreeze, R24); a screening case's
    freeze is lifted by clearing the case (R23)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the freeze is lifted.", examples=["customer identity re-verified"])


class HoldOut(BaseModel):
    """One reason a wallet is frozen: a compliance freeze or a screening case (R23, R24), lifted or not."""

    id: str = Field(description="Hold id.", examples=["frz_018c2f1e3a4b9f3e2d1c0b0a"])
    reason: str = Field(description="Why it was frozen.", examples=["suspected account takeover"])
    legal_basis: str | None = Field(description="Legal basis recorded with it.", examples=[None])
    case_id: str | None = Field(description="Screening case that froze it (R23), if any.", examples=[None])
    requested_by: str = Field(description="Compliance principal, or `system` for screening.", examples=["key_01"])
    created_at: datetime = Field(description="When requested (UTC).", examples=["2026-01-05T08:00:00Z"])
    lifted_by: str | None = Field(description="Who lifted it.", examples=[None])
    lifted_at: datetime | None = Field(description="When lifted.", examples=[None])
    lift_reason: str | None = Field(description="Why lifted.", examples=[None])


class WalletEnforcementOut(BaseModel):
    """A wallet's freeze state on chain and every hold on it (R24). The answer of the freeze, unfreeze and
    /freezes routes."""

    wallet: str = Field(description="The wallet address.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    customer_id: str = Field(description="Its owner.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    frozen: bool = Field(description="Frozen on chain, as last confirmed (R24).", examples=[False])
    chain_target: Literal["frozen", "unfrozen"] = Field(
        description="Where the service is taking the wallet: a freeze or unfreeze sent but not yet confirmed "
        "shows here first.",
        examples=["frozen"],
    )
    holds: list[HoldOut] = Field(description="Every hold, lifted ones included, oldest first.", examples=[[]])


class SeizureCreate(BaseModel):
    """Compliance asks to burn a frozen wallet's balance and re-mint it to a recovery wallet on a recorded
    legal basis (POST /v1/seizures); a second principal approves (R24, R40)."""

    model_config = ConfigDict(extra="forbid")

    wallet: AddressIn = Field(
        description="The frozen wallet to seize from (R24).", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"]
    )
    recovery_wallet: AddressIn = Field(
        description="Active, not frozen, bound wallet that receives the re-mint.",
        examples=["0x9d3D7d7C5e5a4e3F2b1A0f9E8d7C6b5A4f3E2d1C"],
    )
    amount: FenAmount | None = Field(
        default=None, description="CNH to seize; omit for the whole frozen balance (whole fen).", examples=["100.00"]
    )
    legal_basis: LegalBasis = Field(
        description="The order or statute relied on (R24), kept in the audit log.",
        examples=["Court of First Instance order HCMP 1234/2026 (sandbox)"],
    )
    case_reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="Compliance case or file number.", examples=["CASE-2026-0042"]
    )


class SeizureOut(BaseModel):
    """A seizure as the service sees it: its status, approval (R40), burn and re-mint transactions, legal basis
    (R24) and audit reference (R50)."""

    id: str = Field(description="Seizure id.", examples=["szr_018c2f1e3a4b9f3e2d1c0b0a"])
    wallet: str = Field(description="Wallet seized from.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    recovery_wallet: str = Field(
        description="Wallet re-minted to.", examples=["0x9d3D7d7C5e5a4e3F2b1A0f9E8d7C6b5A4f3E2d1C"]
    )
    amount: FenString = Field(description="CNH burned and re-minted.", examples=["100.00"])
    legal_basis: str = Field(description="Recorded legal basis (R24).", examples=["HCMP 1234/2026"])
    case_reference: str = Field(description="Compliance case.", examples=["CASE-2026-0042"])
    chain_case_id: str = Field(
        description="caseId in the on-chain FrozenBalanceBurned event.", examples=["0x" + "ab" * 32]
    )
    status: SeizureStatus = Field(
        description="pending_approval → approved → burn_submitted → burned → "
        "remint_submitted → completed; or rejected, failed, remint_failed.",
        examples=["pending_approval"],
    )
    reason: str | None = Field(description="Why it failed or was rejected.", examples=[None])
    requested_by: str = Field(description="Compliance principal who asked.", examples=["key_01"])
    approval_id: str | None = Field(
        description="The approval request (POST /v1/approvals/{id}/approve).", examples=["apq_018c2f1e3a4b9f3e2d1c0b0a"]
    )
    approved_by: str | None = Field(description="The second principal (R40).", examples=[None])
    burn_tx_hash: str | None = Field(description="burnFrozen transaction.", examples=[None])
    remint_tx_hash: str | None = Field(description="Re-mint transaction.", examples=[None])
    audit_ref: int | None = Field(
        description="Sequence number of the latest audit record of this seizure; null in the answer to the request "
        "that made the change (records are chained as it commits): GET the seizure to read it.",
        examples=[88],
    )
    created_at: datetime = Field(description="When requested (UTC).", examples=["2026-01-05T08:00:00Z"])
    updated_at: datetime = Field(description="Last change (UTC).", examples=["2026-01-05T08:01:00Z"])
    completed_at: datetime | None = Field(description="When the re-mint was confirmed.", examples=[None])
