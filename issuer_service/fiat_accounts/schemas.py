"""Balance shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from issuer_service.money import FenString


class BalanceOut(BaseModel):
    """A customer's confirmed fiat in CNH (R4), as decimal strings."""

    available: FenString = Field(description="Confirmed fiat not yet allocated to a mint.", examples=["1250.50"])
    reserved: FenString = Field(description="Confirmed fiat allocated to mints in flight.", examples=["0.00"])
