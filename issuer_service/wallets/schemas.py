"""Wallet shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.addresses import AddressIn


class ChallengeOut(BaseModel):
    """The one-time message to sign to prove control of a wallet (GET /v1/wallets/challenge), then send with
    POST /v1/wallets (R21)."""

    address: str = Field(description="The wallet the challenge is for (checksummed).",
                         examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    message: str = Field(description="Sign exactly this text with EIP-191 personal_sign (R21).",
                         examples=["CNH sandbox wallet binding\n..."])
    expires_at: datetime = Field(description="The signature must arrive before this time (UTC).",
                                 examples=["2025-11-25T18:54:00Z"])


class WalletCreate(BaseModel):
    """A customer binds a wallet (POST /v1/wallets) with its signature of the challenge (R21); the service
    then allow-lists it on chain (R22)."""

    model_config = ConfigDict(extra="forbid")

    address: AddressIn = Field(
        description="The wallet address the challenge was issued for.",
        examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    signature: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=4096,
                                                pattern=r"^0x[0-9a-fA-F]*$")] = Field(
        description="0x-hex signature of the challenge message (65 bytes for a key; any length for an ERC-1271 "
                    "contract wallet).", examples=["0x4f3c…1b"])


class WalletOut(BaseModel):
    """A customer's bound wallet: allow-listing status (R22), freeze flag (R24) and, when the chain answers,
    its live on-chain flags and balance."""

    id: str = Field(description="Wallet id.", examples=["wal_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(description="Owner.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    address: str = Field(description="Checksummed address.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    kind: Literal["eoa", "contract"] = Field(description="Key (EIP-191) or contract wallet (ERC-1271).",
                                             examples=["eoa"])
    status: Literal["pending", "active", "revoked"] = Field(
        description="pending until the on-chain allow-listing is confirmed, then active (R22); revoked if the "
                    "chain refused the allow-listing (binding it again, with a new proof, sends it again).",
        examples=["active"])
    frozen: bool = Field(description="Frozen by compliance (R24).", examples=[False])
    created_at: datetime = Field(description="When bound (UTC).", examples=["2025-11-25T18:44:00Z"])
    activated_at: datetime | None = Field(description="When the allow-listing was confirmed.", examples=[None])
    on_chain: dict[str, object] | None = Field(
        default=None, description="Live on-chain flags and balance when the chain answers: "
                                  "{allow_listed, frozen, balance}.", examples=[None])
