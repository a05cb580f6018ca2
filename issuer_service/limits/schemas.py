"""Limit-change shapes (R12, R40)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from issuer_service.money import FenAmount, FenString


class LimitChangeIn(BaseModel):
    """A request to change a customer's daily mint or redemption limit (POST /v1/customers/{customer_id}/limits);
    the answer is the approval a second principal gives (R12, R40)."""

    model_config = ConfigDict(extra="forbid")

    daily_mint_limit: FenAmount | None = Field(
        default=None,
        description="New daily mint limit for this customer (CNH); omit to leave it as is.",
        examples=["5000000.00"],
    )
    daily_redeem_limit: FenAmount | None = Field(
        default=None, description="New daily redemption limit (CNH); omit to leave it as is.", examples=[None]
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)] = Field(
        description="Why; shown to the approver and kept in the audit log.",
        examples=["treasury client with verified turnover of CNH 50m a month"],
    )

    @model_validator(mode="after")
    def _something_changes(self) -> LimitChangeIn:
        if self.daily_mint_limit is None and self.daily_redeem_limit is None:
            raise ValueError("give daily_mint_limit, daily_redeem_limit or both")
        return self


class LimitOut(BaseModel):
    """One daily limit in force for a customer today, where it comes from and how much is used (R12)."""

    limit: FenString = Field(description="Limit in force today (CNH).", examples=["50000.00"])
    source: Literal["profile", "override"] = Field(
        description="The profile's limit for the customer's risk, or an approved per-customer change.",
        examples=["profile"],
    )
    used_today: FenString = Field(description="Already counted today (HK business day).", examples=["0.00"])


class LimitsOut(BaseModel):
    """A customer's daily mint and redemption limits and the changes awaiting approval
    (GET /v1/customers/{customer_id}/limits, R12, R40)."""

    customer_id: str = Field(description="The customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    risk: str | None = Field(description="Risk rating the profile's limits follow (R20).", examples=["low"])
    profile: str = Field(description="Regime profile (R60).", examples=["hk"])
    mint: LimitOut = Field(description="Daily mint limit (R12).")
    redeem: LimitOut = Field(description="Daily redemption limit.")
    pending_change_ids: list[str] = Field(
        description="Limit changes waiting for approval.", examples=[["apq_018c2f1e3a4b9f3e2d1c0b0a"]]
    )
