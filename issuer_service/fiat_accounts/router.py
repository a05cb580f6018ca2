"""HTTP route for a customer's fiat balance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from issuer_service.auth import Principal, ensure_customer_access, require
from issuer_service.dependencies import SessionDep
from issuer_service.fiat_accounts import service
from issuer_service.fiat_accounts.schemas import BalanceOut

router = APIRouter(tags=["deposits"])


@router.get("/v1/customers/{customer_id}/balance", summary="A customer's confirmed fiat balance")
def get_balance(
    customer_id: Annotated[str, Path(description="The customer id.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator", "compliance", "treasury", "auditor", "customer"))],
) -> BalanceOut:
    ensure_customer_access(principal, customer_id)
    return service.get_balance(session, customer_id)
