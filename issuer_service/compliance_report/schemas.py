"""Compliance report shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from issuer_service.money import FenString

SANDBOX_BANNER = "SANDBOX — NOT A LICENSED STABLECOIN"


class SlaBreachOut(BaseModel):
    """A redemption paid after, or still unpaid past, its payout deadline (R13)."""

    redemption_id: str = Field(description="The redemption.", examples=["red_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(description="Its customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    amount: FenString = Field(description="Amount redeemed.", examples=["100.00"])
    status: str = Field(description="Redemption status.", examples=["paid"])
    deadline_at: datetime = Field(description="Payout deadline (R13).", examples=["2026-01-06T15:59:59Z"])
    paid_at: datetime | None = Field(description="When paid; null while still unpaid.", examples=[None])
    late_by_seconds: int = Field(description="How far past the deadline (to now, if unpaid).", examples=[3600])


class SlaSectionOut(BaseModel):
    """The compliance report's redemption section: payouts on time and late against the profile's deadline,
    the holiday calendar used (R13, R60) and where fees are disclosed (R14)."""

    deadline_business_days: int = Field(description="Profile deadline (R13, R60).", examples=[1])
    paid: int = Field(description="Redemptions paid.", examples=[10])
    paid_on_time: int = Field(description="Paid by their deadline.", examples=[9])
    paid_late: list[SlaBreachOut] = Field(description="Paid after the deadline (R13 breach).", examples=[[]])
    overdue: list[SlaBreachOut] = Field(description="Still unpaid past the deadline (R13 breach).", examples=[[]])
    fee_disclosure: str = Field(
        description="Where fees are disclosed (R14).",
        examples=["GET /v1/redemptions/quote before the request; fee on every receipt"],
    )
    holiday_calendar: str = Field(description="The calendar deadlines use (R13).", examples=["hk"])
    holiday_years: list[int] = Field(description="Years its holiday data covers.", examples=[[2025, 2026, 2027]])
    calendar_warnings: list[str] = Field(
        description="A deadline of a request made now would fall in a year without holiday data, so it "
        "counts weekends only (R13); empty when covered.",
        examples=[[]],
    )


class FlaggedTransferOut(BaseModel):
    """A customer-to-customer transfer at or above the threshold whose travel-rule record is missing or late (R25)."""

    tx_hash: str = Field(description="The transfer.", examples=["0x" + "ab" * 32])
    block_number: int = Field(description="Its block.", examples=[120])
    from_address: str = Field(
        description="Sending customer wallet.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"]
    )
    to_address: str = Field(
        description="Receiving customer wallet.", examples=["0x9d3D7d7C5e5a4e3F2b1A0f9E8d7C6b5A4f3E2d1C"]
    )
    amount: str = Field(description="Amount in tCNH (decimal string).", examples=["8000.000000"])
    observed_at: datetime = Field(description="When the indexer saw it.", examples=["2026-01-05T08:00:00Z"])
    problem: str = Field(
        description="missing (no record in the window) or late (recorded after it).", examples=["missing"]
    )
    recorded_at: datetime | None = Field(description="When a record arrived, if late.", examples=[None])


class TravelRuleSectionOut(BaseModel):
    """The compliance report's travel-rule section: transfers at or above the threshold and their records (R25)."""

    threshold: FenString = Field(description="Full data set from this amount (R25).", examples=["7300.00"])
    record_window_seconds: int = Field(description="Time allowed to record a transfer.", examples=[86400])
    transfers_at_or_above_threshold: int = Field(description="Customer-to-customer transfers checked.", examples=[3])
    recorded: int = Field(description="With a record in time.", examples=[2])
    awaiting_record: int = Field(description="Still inside the window without a record.", examples=[0])
    flagged: list[FlaggedTransferOut] = Field(description="Missing or late records (R25).", examples=[[]])


class ScreeningSectionOut(BaseModel):
    """The compliance report's screening section: the list in force, cases by status, blocked customers (R23)."""

    list_version: str = Field(description="List in force (R23).", examples=["sandbox-2026-01"])
    cases: dict[str, int] = Field(description="Cases by status.", examples=[{"open": 1}])
    blocked_customers: list[str] = Field(description="Customers blocked by unresolved cases.", examples=[[]])


class FrozenWalletOut(BaseModel):
    """A wallet frozen or on hold, in the compliance report (R24)."""

    wallet: str = Field(description="Address.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    customer_id: str = Field(description="Owner.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    frozen_on_chain: bool = Field(description="Confirmed frozen (R24).", examples=[True])
    holds: int = Field(description="Unlifted holds.", examples=[1])


class SeizureLineOut(BaseModel):
    """One seizure in the compliance report, with its legal basis (R24)."""

    id: str = Field(description="Seizure.", examples=["szr_018c2f1e3a4b9f3e2d1c0b0a"])
    wallet: str = Field(description="Seized from.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    amount: FenString = Field(description="Amount.", examples=["100.00"])
    status: str = Field(description="Status.", examples=["completed"])
    legal_basis: str = Field(description="Recorded legal basis (R24).", examples=["HCMP 1234/2026"])


class EnforcementSectionOut(BaseModel):
    """The compliance report's enforcement section: frozen wallets and seizures (R24)."""

    frozen_wallets: list[FrozenWalletOut] = Field(description="Wallets frozen or on hold (R24).", examples=[[]])
    seizures: list[SeizureLineOut] = Field(description="Every seizure (R24).", examples=[[]])


class AttestationSectionOut(BaseModel):
    """The compliance report's attestation section: the profile's cadence and whether a report is overdue
    (R52, R53, R60)."""

    cadence: str = Field(description="How often the profile wants a report (R52, R60).", examples=["daily"])
    last_attested_at: datetime | None = Field(
        description="Stated time of the latest report (its block's time); null before the first.",
        examples=["2026-01-05T08:00:00Z"],
    )
    next_due_at: datetime | None = Field(
        description="When the next report is due; null before the first (due at once once there is supply).",
        examples=["2026-01-06T08:00:00Z"],
    )
    overdue: bool = Field(
        description="Past the due time, or no report yet while tokens are outstanding (R52, R53).", examples=[False]
    )


class ComplianceReportOut(BaseModel):
    """The compliance report (GET /v1/compliance/report): redemption SLA, travel-rule gaps, screening, freezes,
    seizures, attestation cadence and pending approvals (R13, R23-R25, R40, R52), labelled as a sandbox (R55)."""

    banner: str = Field(default=SANDBOX_BANNER, description="R55.", examples=[SANDBOX_BANNER])
    generated_at: datetime = Field(description="When (UTC).", examples=["2026-01-05T08:00:00Z"])
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])
    redemption_sla: SlaSectionOut = Field(description="R13/R14.")
    travel_rule: TravelRuleSectionOut = Field(description="R25.")
    attestation: AttestationSectionOut = Field(description="R52/R53: attestation cadence of the profile.")
    screening: ScreeningSectionOut = Field(description="R23.")
    enforcement: EnforcementSectionOut = Field(description="R24.")
    pending_approvals: dict[str, int] = Field(
        description="Approval requests waiting, by action (R40).", examples=[{"seizure": 1}]
    )
