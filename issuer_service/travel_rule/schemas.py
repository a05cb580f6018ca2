"""Travel-rule shapes (R25)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.money import FenString

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TxHash = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^0x[0-9a-fA-F]{64}$")]


class PartyIn(BaseModel):
    """Originator or beneficiary data of a transfer: name, account, and address or ID number (R25)."""

    model_config = ConfigDict(extra="forbid")

    name: Text200 | None = Field(
        default=None, description="Full name of the person or firm.", examples=["Lotus Trading Ltd"]
    )
    account: Text200 | None = Field(
        default=None,
        description="Wallet address or bank account.",
        examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"],
    )
    address: Text200 | None = Field(
        default=None, description="Postal address (or give id_number).", examples=["1 Sandbox Road, Central, Hong Kong"]
    )
    id_number: Text200 | None = Field(
        default=None,
        description="National ID, customer identification number or LEI (instead of or with the address).",
        examples=["LEI 5493001KJTIIGC8Y1R12"],
    )


class TravelRuleIn(BaseModel):
    """Travel-rule data of a redemption: who sends and who receives the value (R25)."""

    model_config = ConfigDict(extra="forbid")

    originator: PartyIn = Field(default_factory=PartyIn, description="Who sends the value (R25).")
    beneficiary: PartyIn = Field(default_factory=PartyIn, description="Who receives it (R25).")


class PartyOut(BaseModel):
    """Originator or beneficiary data as kept in a travel-rule record (R25)."""

    name: str | None = Field(description="Name.", examples=["Lotus Trading Ltd"])
    account: str | None = Field(
        description="Wallet or bank account.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"]
    )
    address: str | None = Field(description="Postal address.", examples=[None])
    id_number: str | None = Field(description="Identification number.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])


class TravelRuleRecordCreate(BaseModel):
    """Travel-rule data of an on-chain transfer between customers, linked by its tx hash
    (POST /v1/travel-rule/records, R25)."""

    model_config = ConfigDict(extra="forbid")

    tx_hash: TxHash = Field(description="The on-chain transfer this data belongs to.", examples=["0x" + "ab" * 32])
    originator: PartyIn = Field(description="Full originator data: name, account, address or ID number (R25).")
    beneficiary: PartyIn = Field(description="Full beneficiary data: name, account, address or ID number (R25).")


class TravelRuleRecordOut(BaseModel):
    """A kept travel-rule record of a redemption, mint, seizure or transfer, and whether it holds the full data
    set the threshold asks for (R25)."""

    id: str = Field(description="Record id.", examples=["trr_018c2f1e3a4b9f3e2d1c0b0a"])
    kind: str = Field(
        description="redemption, mint, seizure (the re-mint to the recovery wallet) or transfer.", examples=["transfer"]
    )
    subject_id: str | None = Field(description="The redemption, mint or seizure, for those kinds.", examples=[None])
    tx_hash: str | None = Field(
        description="The on-chain transfer, for a transfer record.", examples=["0x" + "ab" * 32]
    )
    amount: FenString | None = Field(description="Amount, where the service knows it.", examples=["8000.00"])
    originator: PartyOut = Field(description="Originator data as kept.")
    beneficiary: PartyOut = Field(description="Beneficiary data as kept.")
    full_data_required: bool = Field(description="At or above the profile threshold (R25).", examples=[True])
    complete: bool = Field(description="Every full-set field present.", examples=[True])
    created_by: str = Field(description="Who recorded it.", examples=["key_01"])
    created_at: datetime = Field(description="When (UTC).", examples=["2026-01-05T08:00:00Z"])


class RequirementsOut(BaseModel):
    """Which travel-rule fields a redemption of an amount must carry under the profile
    (GET /v1/travel-rule/requirements, R25, R60)."""

    amount: FenString = Field(description="The amount asked about.", examples=["8000.00"])
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])
    threshold: FenString = Field(
        description="From this amount the full data set is required (R25).", examples=["7300.00"]
    )
    full_data_required: bool = Field(description="Whether this amount needs the full set.", examples=[True])
    required_fields: list[str] = Field(
        description="Fields a redemption of this amount must carry under `travel_rule` (address may be replaced "
        "by id_number).",
        examples=[["travel_rule.originator.name"]],
    )
