"""Due-diligence shapes (R20, R23)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DueDiligenceOut(BaseModel):
    """A customer's due-diligence state (GET /v1/customers/{customer_id}/due-diligence): KYC, enhanced due
    diligence, screening cases (R20, R23) and whether they may mint or redeem."""

    customer_id: str = Field(description="The customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    kyc_status: str = Field(description="Latest KYC decision (R20).", examples=["approved"])
    risk: str | None = Field(description="Risk rating.", examples=["high"])
    status: str = Field(description="active, or blocked by a sanctions screening case (R23).", examples=["active"])
    enhanced_due_diligence: Literal["not_required", "pending", "completed"] = Field(
        description="High risk needs enhanced due diligence recorded by a second compliance officer before any "
        "mint or redemption (R20).",
        examples=["pending"],
    )
    edd_approval_id: str | None = Field(
        description="The approval request a second compliance officer approves "
        "(POST /v1/approvals/{id}/approve with the EDD reference).",
        examples=["apq_018c2f1e3a4b9f3e2d1c0b0a"],
    )
    edd_reference: str | None = Field(description="EDD evidence cited by the approver.", examples=["EDD-2026-0007"])
    unresolved_screening_cases: list[str] = Field(description="Open or confirmed screening cases (R23).", examples=[[]])
    may_transact: bool = Field(
        description="KYC approved, not blocked, and EDD complete where required.", examples=[False]
    )
