"""Reserve shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.money import FenAmount, FenString, FenValue

AssetKind = Literal["cash", "time_deposit", "government_debt", "reverse_repo", "other"]
ApprovalStatus = Literal["pending_approval", "active", "rejected"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
BANNER = "SANDBOX — NOT A LICENSED STABLECOIN"  # R55


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError("lies outside years 1-9999 once converted to UTC; give a real observation time") from None


ObservedAt = Annotated[AwareDatetime, AfterValidator(_in_utc)]  # a client's time, as UTC


class AssetCreate(BaseModel):
    """Treasury records a reserve asset (POST /v1/reserves/assets); it counts toward backing only once a second
    principal approves and only if eligible (R2, R3, R4, R40)."""

    model_config = ConfigDict(extra="forbid")

    kind: AssetKind = Field(
        description="Asset kind; only the profile's eligible kinds count toward backing (R2).", examples=["cash"]
    )
    custodian: Text200 = Field(
        description="Bank or custodian holding the asset. Concentration (R6) is measured per custodian, so name the "
        "institution here and the account in `account`.",
        examples=["Sandbox Bank HK"],
    )
    account: Text200 | None = Field(
        default=None,
        description="The segregated custodian account holding it (R3).",
        examples=["reserve a/c 001-234567-890"],
    )
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 code of the asset; non-CNH counts only after the profile's haircut (R4).",
        examples=["CNH"],
    )
    nominal: FenAmount = Field(description="Nominal amount in CNH, decimal string.", examples=["100000.00"])
    market_value: FenAmount | None = Field(
        default=None,
        description="Market value in CNH (the reference currency), decimal string; defaults to the "
        "nominal. The haircut of R4 is applied on top.",
        examples=["100000.00"],
    )
    maturity: date | None = Field(
        default=None, description="Maturity date; required for deposits, debt and repo (R2).", examples=["2026-02-20"]
    )
    valued_at: ObservedAt | None = Field(
        default=None,
        description="When the market value was observed (UTC); defaults to now. Not in the future.",
        examples=["2025-11-25T09:00:00Z"],
    )
    reference: Text200 = Field(description="Statement or deal reference.", examples=["CAPITAL-2025-11-25"])


class AssetOut(BaseModel):
    """A reserve asset: custodian account (R3), value, approval status (R40) and whether and how much it counts
    toward backing under the profile (R2, R4)."""

    id: str = Field(description="Asset id.", examples=["ast_018c2f1e3a4b9f3e2d1c0b0a"])
    kind: str = Field(description="Asset kind.", examples=["cash"])
    custodian: str = Field(description="Custodian institution.", examples=["Sandbox Bank HK"])
    account: str | None = Field(description="Custodian account (R3).", examples=["reserve a/c 001-234567-890"])
    currency: str = Field(description="Currency.", examples=["CNH"])
    nominal: FenString = Field(description="Nominal amount.", examples=["100000.00"])
    market_value: FenString = Field(description="Current approved market value in CNH.", examples=["100000.00"])
    maturity: date | None = Field(description="Maturity, if any.", examples=[None])
    valued_at: datetime = Field(
        description="When the current value was observed (UTC).", examples=["2025-11-25T09:00:00Z"]
    )
    reference: str = Field(description="Statement or deal reference.", examples=["CAPITAL-2025-11-25"])
    status: ApprovalStatus = Field(
        description="Counts toward reserves only once a second principal approved it (R40).", examples=["active"]
    )
    requested_by: str = Field(description="Who recorded it.", examples=["key_018c2f1e"])
    approved_by: str | None = Field(description="Who approved it.", examples=["key_018c2f20"])
    eligible: bool = Field(description="Eligible today under the profile (R2, R4).", examples=[True])
    ineligibility_reason: str | None = Field(
        description="Stable code when not eligible, e.g. `kind_not_eligible`, `term_too_long`.", examples=[None]
    )
    eligibility_detail: str = Field(description="Why it counts or not.", examples=["eligible (R2)"])
    haircut_bps: int = Field(description="Currency haircut applied (R4).", examples=[0])
    counts_toward_backing: FenString = Field(
        description="Value counted for R1 after eligibility and haircut (once active).", examples=["100000.00"]
    )
    created_at: datetime = Field(description="When recorded (UTC).", examples=["2025-11-25T18:44:00Z"])


class ValuationCreate(BaseModel):
    """Treasury revalues a reserve asset (POST /v1/reserves/assets/{asset_id}/valuations); the new value counts
    once a second principal approves (R5, R40)."""

    model_config = ConfigDict(extra="forbid")

    market_value: FenValue = Field(
        description='New market value in CNH, decimal string; "0" writes off an asset that matured, was sold or '
        "is lost, so it stops counting toward backing (R2, R5).",
        examples=["99850.00"],
    )
    nominal: FenValue | None = Field(
        default=None, description='New nominal; unchanged when omitted; "0" with a write-off.', examples=[None]
    )
    valued_at: ObservedAt | None = Field(
        default=None,
        description="When the value was observed (UTC); defaults to now.",
        examples=["2025-11-26T09:00:00Z"],
    )
    reference: Text200 = Field(description="Price source or statement reference.", examples=["BLOOMBERG-2025-11-26"])


class ValuationOut(BaseModel):
    """One valuation of a reserve asset: value, source, approval status (R40) and the block from which it
    counts (R5)."""

    id: str = Field(description="Valuation id.", examples=["val_018c2f1e3a4b9f3e2d1c0b0a"])
    asset_id: str = Field(description="The asset valued.", examples=["ast_018c2f1e3a4b9f3e2d1c0b0a"])
    nominal: FenString = Field(description="Nominal amount.", examples=["100000.00"])
    market_value: FenString = Field(description="Market value in CNH.", examples=["99850.00"])
    valued_at: datetime = Field(description="When the value was observed (UTC).", examples=["2025-11-26T09:00:00Z"])
    reference: str = Field(description="Price source or statement reference.", examples=["BLOOMBERG-2025-11-26"])
    status: ApprovalStatus = Field(
        description="Counts only once approved by a second principal (R40).", examples=["active"]
    )
    requested_by: str = Field(description="Who recorded it.", examples=["key_018c2f1e"])
    decided_by: str | None = Field(description="Who approved or rejected it.", examples=["key_018c2f20"])
    decided_at: datetime | None = Field(description="When it was approved or rejected.", examples=[None])
    effective_block: int | None = Field(
        description="First block from which it counts (attestations at earlier blocks ignore it).", examples=[1234]
    )
    created_at: datetime = Field(description="When recorded (UTC).", examples=["2025-11-26T09:05:00Z"])


class CompositionItem(BaseModel):
    """Counted reserves of one asset kind, in the public reserve view (R52)."""

    kind: str = Field(description="Asset kind; `cash` includes the customer subscription account.", examples=["cash"])
    counted: FenString = Field(description="Counted toward backing.", examples=["1020.00"])


class CustodianShareOut(BaseModel):
    """Counted reserves held at one custodian and their share against the concentration limit (R6)."""

    custodian: str = Field(description="Custodian institution.", examples=["Sandbox Bank HK"])
    counted: FenString = Field(description="Counted reserves held there.", examples=["1020.00"])
    share_bps: int = Field(description="Share of counted reserves, basis points (rounded down).", examples=[10000])
    over_limit: bool = Field(description="Above the profile's concentration limit (R6).", examples=[True])


class ReservesOut(BaseModel):
    """The public reserve view (GET /v1/reserves, no key needed): supply against counted reserves and buffer
    (R1), composition (R52) and concentration (R6), labelled as a sandbox (R55)."""

    banner: str = Field(default=BANNER, description="Sandbox label (R55).", examples=[BANNER])
    supply: FenString = Field(description="Ledger supply: confirmed plus in-flight mints (R1).", examples=["1000.00"])
    outstanding: FenString = Field(description="Confirmed tokens outstanding.", examples=["1000.00"])
    in_flight_mints: FenString = Field(description="Accepted mints not yet confirmed.", examples=["0.00"])
    reserves: FenString = Field(description="Reserves counted toward backing.", examples=["1020.00"])
    required_reserves: FenString = Field(description="Supply plus the buffer (R1).", examples=["1020.00"])
    surplus: FenString = Field(description="Reserves minus required; negative is a shortfall.", examples=["0.00"])
    ratio: str | None = Field(description="Reserves / supply, 4 decimals; null with no supply.", examples=["1.0200"])
    buffer_bps: int = Field(description="Profile buffer in basis points.", examples=[200])
    fully_backed: bool = Field(description="Reserves cover supply plus buffer (R1).", examples=[True])
    last_valuation_at: datetime | None = Field(
        description="When reserves were last valued (UTC): the later of the last cash movement and the newest "
        "approved asset valuation (R5).",
        examples=["2026-11-26T08:00:00Z"],
    )
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])
    composition: list[CompositionItem] = Field(
        default_factory=list, description="Counted reserves by asset kind (R52).", examples=[[]]
    )
    concentration: list[CustodianShareOut] = Field(
        default_factory=list, description="Counted reserves per custodian against the limit (R6).", examples=[[]]
    )
    concentration_limit_bps: int = Field(default=0, description="R6 limit in basis points.", examples=[5000])
    chain: dict[str, Any] | None = Field(
        description="On-chain view: total supply and latest attestation, when the chain answers.", examples=[None]
    )


class StatementOut(BaseModel):
    """A daily reserve statement (R52), drawn by the worker or POST /v1/reserves/statements: supply against
    reserves on a business date, any R1 breach, stale valuations (R5) and concentration breaches (R6)."""

    id: str = Field(description="Statement id.", examples=["stm_018c2f1e3a4b9f3e2d1c0b0a"])
    business_date: date = Field(description="Hong Kong business date it is for.", examples=["2025-11-25"])
    supply: FenString = Field(description="Ledger supply incl. in-flight mints (R1).", examples=["1000.00"])
    reserves: FenString = Field(description="Reserves counted toward backing.", examples=["1020.00"])
    required_reserves: FenString = Field(description="Supply plus buffer.", examples=["1020.00"])
    surplus: FenString = Field(description="Negative is the shortfall to cure.", examples=["0.00"])
    fully_backed: bool = Field(description="R1 held when the statement was drawn.", examples=[True])
    breach: bool = Field(
        description="R1 breached: an alert was raised and mints are refused until cured (R5).", examples=[False]
    )
    stale_valuations: int = Field(
        description="Active assets valued longer ago than the profile allows (R5).", examples=[0]
    )
    concentration_breaches: int = Field(description="Custodians above the R6 limit.", examples=[1])
    chain_supply: str | None = Field(
        description="totalSupply() when the statement was drawn, 6 decimals.", examples=["1000.000000"]
    )
    chain_block: int | None = Field(description="Block the chain supply was read at.", examples=[1234])
    audit_seq: int = Field(description="The audit record of this statement (R50).", examples=[42])
    created_at: datetime = Field(description="When drawn (UTC).", examples=["2025-11-25T00:00:05Z"])
