"""Deposit shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from issuer_service.money import FenAmount, FenString


class DepositCreate(BaseModel):
    """A customer's bank transfer that an operator credits (POST /v1/deposits): the confirmed fiat mints
    draw on (R10)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(
        description="The customer whose bank transfer arrived.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"]
    )
    amount: FenAmount = Field(description="Decimal string, at most 2 decimals, > 0.", examples=["1250.50"])
    currency: Literal["CNH"] = Field(description="Only CNH is accepted (R4).", examples=["CNH"])
    bank_reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="The bank's reference for the transfer; unique per customer.", examples=["HKBANK-20251125-0001"]
    )


class DepositOut(BaseModel):
    """A credited deposit: confirmed fiat the customer may mint against (R10). The answer to POST /v1/deposits."""

    id: str = Field(description="Deposit id.", examples=["dep_018c2f1e3a4b9f3e2d1c0b0a"])
    customer_id: str = Field(description="The customer credited.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    amount: FenString = Field(description="Amount credited.", examples=["1250.50"])
    currency: Literal["CNH"] = Field(description="Always CNH.", examples=["CNH"])
    bank_reference: str = Field(description="The bank's reference.", examples=["HKBANK-20251125-0001"])
    status: Literal["confirmed"] = Field(
        description="Sandbox deposits are confirmed on receipt (R10).", examples=["confirmed"]
    )
    created_at: datetime = Field(description="When it was credited (UTC).", examples=["2025-11-25T18:44:00.123456Z"])
