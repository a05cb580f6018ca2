"""Mint shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from issuer_service.addresses import AddressIn
from issuer_service.money import FenAmount, FenString

MintStatus = Literal["requested", "pending_approval", "approved", "submitted", "confirmed", "rejected", "failed"]


class MintCreate(BaseModel):
    """A customer's mint request (POST /v1/mints): tokens 1:1 against their confirmed fiat (R10) to their own
    allow-listed wallet (R11), within reserves, limits and the cap (R1, R12)."""

    model_config = ConfigDict(extra="forbid")

    wallet: AddressIn = Field(
        description="Your active, allow-listed wallet address (EIP-55 checksummed or lower-case) (R11).",
        examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"],
    )
    amount: FenAmount = Field(
        description="CNH amount as a decimal string, at most 2 decimals; 1.00 CNH mints 1.000000 tCNH.",
        examples=["1000.00"],
    )


class MintOut(BaseModel):
    """A mint request as the service sees it: its status, amount, approval above the threshold (R12, R40),
    transaction and audit reference (R50). Returned by every /v1/mints route (in pages by the list)."""

    id: str = Field(description="Mint id.", examples=["mnt_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(description="The customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    wallet: str = Field(description="Receiving wallet.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    amount: FenString = Field(description="Amount in CNH (tokens minted 1:1).", examples=["1000.00"])
    status: MintStatus = Field(
        description="requested → pending_approval? → approved → submitted → confirmed; "
        "or rejected (a rule said no) or failed (the chain said no; fiat released).",
        examples=["submitted"],
    )
    reason_code: str | None = Field(description="Why it was rejected or failed.", examples=[None])
    reason: str | None = Field(description="Human explanation.", examples=[None])
    requested_by: str = Field(description="Principal who requested it.", examples=["key_018c2f1e"])
    approved_by: str | None = Field(description="Second approver above the threshold (R12, R40).", examples=[None])
    tx_hash: str | None = Field(description="Mint transaction hash once signed.", examples=[None])
    block_number: int | None = Field(description="Block of the confirmed mint.", examples=[None])
    audit_ref: int | None = Field(
        description="Sequence number of the latest audit record of this mint; null in the answer to the request "
        "that made the change (records are chained as it commits): GET the mint to read it.",
        examples=[42],
    )
    created_at: datetime = Field(description="When requested (UTC).", examples=["2025-11-25T18:44:00Z"])
    updated_at: datetime = Field(description="Last status change (UTC).", examples=["2025-11-25T18:44:01Z"])
