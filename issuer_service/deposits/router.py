"""HTTP route for sandbox bank deposits (operator, idempotent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.deposits import service
from issuer_service.deposits.schemas import DepositCreate, DepositOut
from issuer_service.idempotency import IdempotencyKeyHeader, idempotent

router = APIRouter(prefix="/v1/deposits", tags=["deposits"])


@router.post(
    "",
    status_code=201,
    response_model=DepositOut,
    summary="Credit a sandbox bank deposit (R10)",
    responses={409: {"description": "bank_reference already credited, or Idempotency-Key reused with another body"}},
)
def create_deposit(
    body: DepositCreate,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("operator"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    return idempotent(
        session, principal, request, body, lambda: service.create_deposit(session, actor=principal, body=body)
    )
