"""Balance shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from issuer_service.money import FenString


class BalanceOut(BaseModel):
    customer_id: str = Field(description="The customer.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    currency: Literal["CNH"] = Field(description="Always CNH (R4).", examples=["CNH"])
    available: FenString = Field(description="Confirmed fiat not yet allocated to a mint.", examples=["1250.50"])
    reserved: FenString = Field(description="Confirmed fiat allocated to mints in flight.", examples=["0.00"])
