"""Screening shapes (R23)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CaseStatus = Literal["open", "cleared", "confirmed"]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class ListedPartyIn(BaseModel):
    """One listed party in a sanctions list being loaded: names and wallet addresses to screen against (R23)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64, description="Stable entry id from the list publisher.", examples=["SBX-0001"])
    name: str = Field(max_length=200, description="Primary name.", examples=["Vexmoor Arms Brokerage Ltd"])
    aliases: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description="Other names it is known by.",
        examples=[["Vexmoor Armaments"]],
    )
    addresses: list[Annotated[str, StringConstraints(max_length=42)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Listed wallet addresses (0x + 40 hex).",
        examples=[["0x5abd00000000000000000000000000000000bad1"]],
    )
    program: str = Field(
        default="", max_length=100, description="Sanctions programme.", examples=["SANDBOX-FICTIONAL-ARMS"]
    )
    note: str | None = Field(
        default=None, max_length=2000, description="Free text; not used for matching.", examples=[None]
    )


class ScreeningListIn(BaseModel):
    """A new sanctions screening list (PUT /v1/screening/list); every customer and wallet is re-screened
    against it (R23)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(max_length=64, description="Version label of this list.", examples=["sandbox-2026-02"])
    source: str | None = Field(
        default=None,
        max_length=200,
        description="Where it comes from.",
        examples=["CNH sandbox fictional screening list"],
    )
    notice: str | None = Field(
        default=None, max_length=2000, description="Free text kept with the file.", examples=["FICTIONAL"]
    )
    entries: list[ListedPartyIn] = Field(max_length=100_000, description="Every listed party.", examples=[[]])


class ListedPartyOut(BaseModel):
    """One listed party of the screening list in force (R23)."""

    id: str = Field(description="Entry id.", examples=["SBX-0001"])
    name: str = Field(description="Primary name.", examples=["Vexmoor Arms Brokerage Ltd"])
    aliases: list[str] = Field(description="Aliases.", examples=[["Vexmoor Armaments"]])
    addresses: list[str] = Field(
        description="Listed wallets, lower-case.", examples=[["0x5abd00000000000000000000000000000000bad1"]]
    )
    program: str = Field(description="Programme.", examples=["SANDBOX-FICTIONAL-ARMS"])


class ScreeningListOut(BaseModel):
    """The sanctions screening list in force (GET /v1/screening/list, R23)."""

    version: str = Field(description="The list in force.", examples=["sandbox-2026-01"])
    source: str = Field(description="Where it comes from.", examples=["CNH sandbox fictional screening list"])
    sha256: str = Field(description="SHA-256 of the list's canonical JSON.", examples=["90e9cf88..."])
    shipped: bool = Field(
        description="True while the sandbox's own fictional list is in force (none loaded).", examples=[True]
    )
    loaded_by: str | None = Field(description="Who loaded it; null for the shipped list.", examples=[None])
    loaded_at: datetime | None = Field(description="When it was loaded.", examples=[None])
    name_match_threshold: int = Field(
        description="Fuzzy name score (0-100) at or above which a name is a hit; see compliance/screening.py.",
        examples=[85],
    )
    entries: list[ListedPartyOut] = Field(description="The listed parties.", examples=[[]])


class RescreenOut(BaseModel):
    """What re-screening every customer and wallet against the list found: cases opened, customers blocked,
    wallets frozen (POST /v1/screening/rescreen, R23)."""

    list_version: str = Field(description="The list everyone was screened against.", examples=["sandbox-2026-02"])
    customers_screened: int = Field(description="Customers screened by name.", examples=[12])
    wallets_screened: int = Field(description="Wallets screened by address.", examples=[15])
    cases_opened: list[str] = Field(description="Ids of the cases the new hits opened.", examples=[["scr_01"]])
    customers_blocked: list[str] = Field(description="Customers blocked by a new hit.", examples=[["cus_01"]])
    wallets_frozen: list[str] = Field(
        description="Wallets put on hold (freeze sent through the outbox).",
        examples=[["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"]],
    )


class ListLoadedOut(BaseModel):
    """The answer to loading a screening list (PUT /v1/screening/list): the list now in force and what
    re-screening found (R23)."""

    list: ScreeningListOut = Field(description="The list now in force.")
    rescreen: RescreenOut = Field(description="What re-screening every customer and wallet found.")


class CaseOut(BaseModel):
    """A screening case: a customer's name or a wallet's address that hit the sanctions list, and compliance's
    decision on it (R23)."""

    id: str = Field(description="Case id.", examples=["scr_018c2f1e3a4b9f3e2d1c0b0a"])
    subject_type: Literal["customer", "wallet"] = Field(
        description="A customer's name or a wallet's address hit.", examples=["customer"]
    )
    subject_id: str = Field(description="The customer or wallet id.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(
        description="The customer (the owner, for a wallet).", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"]
    )
    screened_value: str = Field(description="The name or address screened.", examples=["Vexmore Arms Brokerage"])
    list_version: str = Field(description="List version that produced the hit.", examples=["sandbox-2026-01"])
    entry_id: str = Field(description="Listed entry.", examples=["SBX-0001"])
    entry_name: str = Field(description="Listed entry's name.", examples=["Vexmoor Arms Brokerage Ltd"])
    match_kind: Literal["name", "address"] = Field(description="Fuzzy name or exact address.", examples=["name"])
    matched_value: str = Field(
        description="The listed name, alias or address that matched.", examples=["Vexmoor Arms Brokerage Ltd"]
    )
    score: int = Field(description="Match score 0-100 (100 for an address).", examples=[95])
    status: CaseStatus = Field(
        description="open, cleared (false positive) or confirmed (true match) (R23).", examples=["open"]
    )
    opened_by: str = Field(
        description="Who screened (the list loader, or the principal onboarding).", examples=["key_01"]
    )
    opened_at: datetime = Field(description="When opened (UTC).", examples=["2026-01-05T08:00:00Z"])
    decided_by: str | None = Field(description="Compliance officer who decided.", examples=[None])
    decided_at: datetime | None = Field(description="When decided.", examples=[None])
    decision_note: str | None = Field(description="Their reasoning.", examples=[None])


class CaseDecisionIn(BaseModel):
    """Compliance's reasoning when it clears a case as a false positive or confirms it as a true match
    (POST /v1/screening/cases/{case_id}/clear or /confirm, R23)."""

    model_config = ConfigDict(extra="forbid")

    note: Note = Field(
        description="Why: the evidence that the match is (or is not) the listed party.",
        examples=["different date of birth and nationality; not the listed person"],
    )
