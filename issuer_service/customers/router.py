"""HTTP routes for customers and KYC (R20)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from issuer_service.auth import Principal, require
from issuer_service.customers import service
from issuer_service.customers.schemas import CustomerCreate, CustomerOut, KycDecisionCreate
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import CustomerIdPath
from issuer_service.screening.service import SanctionsHit

router = APIRouter(prefix="/v1/customers", tags=["customers"])



@router.post("", status_code=201, summary="Onboard a customer (KYC pending)")
def create_customer(
    body: CustomerCreate, session: SessionDep, principal: Annotated[Principal, Depends(require("operator"))]
) -> CustomerOut:
    return service.create_customer(session, actor=principal, body=body)


@router.get("", summary="List customers (paged)")
def list_customers(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator", "compliance", "auditor"))],
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CustomerOut]:
    return service.list_customers(session, limit=limit, cursor=cursor)


@router.get("/{customer_id}", summary="Get a customer")
def get_customer(
    customer_id: CustomerIdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator", "compliance", "auditor", "customer"))],
) -> CustomerOut:
    return service.get_customer(session, principal=principal, customer_id=customer_id)


@router.post("/{customer_id}/kyc", response_model=CustomerOut, summary="Record a KYC decision (R20, R23)")
def decide_kyc(
    customer_id: CustomerIdPath,
    body: KycDecisionCreate,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("compliance"))],
) -> CustomerOut | JSONResponse:
    try:
        return service.decide_kyc(
            session, actor=principal, customer_id=customer_id, body=body, profile=request.app.state.profile
        )
    except SanctionsHit as hit:  # R23: answered here so the case and the block it recorded are committed
        return hit.problem(request.url.path)
