"""HTTP routes for per-customer limits (R12, R40)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from issuer_service.approvals.schemas import ApprovalOut
from issuer_service.auth import Principal, require
from issuer_service.customers.router import CustomerIdPath
from issuer_service.dependencies import SessionDep
from issuer_service.limits import service
from issuer_service.limits.schemas import LimitChangeIn, LimitsOut

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{customer_id}/limits",
    response_model=LimitsOut,
    summary="Daily mint and redemption limits in force for a customer (R12)",
)
def get_limits(
    customer_id: CustomerIdPath,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator", "compliance", "auditor"))],
) -> LimitsOut:
    return service.get_limits(session, customer_id=customer_id, profile=request.app.state.profile)


@router.post(
    "/{customer_id}/limits",
    status_code=202,
    response_model=ApprovalOut,
    summary="Ask for a per-customer limit change; it applies once a second principal approves (R12, R40)",
)
def request_change(
    customer_id: CustomerIdPath,
    body: LimitChangeIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("compliance", "operator"))],
) -> ApprovalOut:
    return service.request_change(session, actor=principal, customer_id=customer_id, body=body)
