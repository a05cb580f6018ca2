"""Reserve shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.money import FenAmount, FenString

AssetKind = Literal["cash", "time_deposit", "government_debt", "reverse_repo", "other"]


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AssetKind = Field(description="Asset kind; only the profile's eligible kinds count toward backing (R2).",
                            examples=["cash"])
    custodian: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="Bank or custodian holding the asset, with the account (R3).",
        examples=["Sandbox Bank HK — reserve a/c 001-234567-890"])
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 code; non-CNH counts only after the profile's haircut (R4).", examples=["CNH"])
    nominal: FenAmount = Field(description="Nominal amount, decimal string.", examples=["100000.00"])
    market_value: FenAmount | None = Field(
        default=None, description="Market value, decimal string; defaults to the nominal.", examples=["100000.00"])
    maturity: date | None = Field(default=None, description="Maturity date for deposits and debt.",
                                  examples=["2026-02-20"])
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="Statement or deal reference.", examples=["CAPITAL-2025-11-25"])


class AssetOut(BaseModel):
    id: str = Field(description="Asset id.", examples=["ast_018c2f1e3a4b9f3e2d1c0b0a"])
    kind: str = Field(description="Asset kind.", examples=["cash"])
    custodian: str = Field(description="Custodian and account.", examples=["Sandbox Bank HK"])
    currency: str = Field(description="Currency.", examples=["CNH"])
    nominal: FenString = Field(description="Nominal amount.", examples=["100000.00"])
    market_value: FenString = Field(description="Market value.", examples=["100000.00"])
    maturity: date | None = Field(description="Maturity, if any.", examples=[None])
    reference: str = Field(description="Statement or deal reference.", examples=["CAPITAL-2025-11-25"])
    status: Literal["pending_approval", "active", "rejected"] = Field(
        description="Counts toward reserves only once a second principal approved it (R40).", examples=["active"])
    requested_by: str = Field(description="Who recorded it.", examples=["key_018c2f1e"])
    approved_by: str | None = Field(description="Who approved it.", examples=["key_018c2f20"])
    counts_toward_backing: FenString = Field(
        description="Value counted for R1 after eligibility and haircut (once active).", examples=["100000.00"])
    created_at: datetime = Field(description="When recorded (UTC).", examples=["2025-11-25T18:44:00Z"])


class ReservesOut(BaseModel):
    banner: str = Field(default="SANDBOX — NOT A LICENSED STABLECOIN", description="R55.")
    supply: FenString = Field(description="Ledger supply: confirmed plus in-flight mints (R1).", examples=["1000.00"])
    outstanding: FenString = Field(description="Confirmed tokens outstanding.", examples=["1000.00"])
    in_flight_mints: FenString = Field(description="Accepted mints not yet confirmed.", examples=["0.00"])
    reserves: FenString = Field(description="Reserves counted toward backing.", examples=["1020.00"])
    required_reserves: FenString = Field(description="Supply plus the buffer (R1).", examples=["1020.00"])
    surplus: FenString = Field(description="Reserves minus required; negative is a shortfall.", examples=["0.00"])
    ratio: str | None = Field(description="Reserves / supply, 4 decimals; null with no supply.", examples=["1.0200"])
    buffer_bps: int = Field(description="Profile buffer in basis points.", examples=[200])
    fully_backed: bool = Field(description="Reserves cover supply plus buffer (R1).", examples=[True])
    last_valuation_at: datetime | None = Field(description="Last change to the pool (UTC).", examples=[None])
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])
    chain: dict[str, Any] | None = Field(
        description="On-chain view: total supply and latest attestation, when the chain answers.", examples=[None])
