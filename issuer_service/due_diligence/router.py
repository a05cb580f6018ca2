"""HTTP route for a customer's due-diligence state (R20, R23)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from issuer_service.auth import Principal, require
from issuer_service.customers.router import CustomerIdPath
from issuer_service.dependencies import SessionDep
from issuer_service.due_diligence import service
from issuer_service.due_diligence.schemas import DueDiligenceOut

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{customer_id}/due-diligence",
    response_model=DueDiligenceOut,
    summary="KYC, enhanced due diligence and screening state of a customer (R20, R23)",
)
def get_due_diligence(
    customer_id: CustomerIdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator", "compliance", "auditor"))],
) -> DueDiligenceOut:
    return service.due_diligence(session, customer_id=customer_id)
