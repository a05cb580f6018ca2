"""HTTP routes for mints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from issuer_service.approvals.auth import require_approver
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.idempotency import IdempotencyKeyHeader, idempotent
from issuer_service.mints import service
from issuer_service.mints.schemas import MintCreate, MintOut
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import MintIdPath

router = APIRouter(prefix="/v1/mints", tags=["mints"])
# The approval policy's roles for `mint.large` (operator as shipped) decide on a large mint (R40).
ApproverDep = Annotated[Principal, Depends(require_approver(service.LARGE_MINT))]


@router.post(
    "",
    status_code=202,
    response_model=MintOut,
    summary="Request a mint against your confirmed fiat (R1, R10, R11, R12)",
    responses={422: {"description": "a rule refused it; `reason_code` says which"}},
)
def create_mint(
    body: MintCreate,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("customer"))],
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    profile = request.app.state.profile
    return idempotent(
        session,
        principal,
        request,
        body,
        lambda: service.create_mint(session, actor=principal, body=body, profile=profile),
        status_code=202,
    )


@router.get("", response_model=Page[MintOut], summary="List mints (customers see their own)")
def list_mints(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("customer", "operator", "auditor"))],
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[MintOut]:
    return service.list_mints(session, principal=principal, limit=limit, cursor=cursor)


@router.get("/{mint_id}", response_model=MintOut, summary="A mint's status, transaction and audit reference")
def get_mint(
    mint_id: MintIdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("customer", "operator", "auditor"))],
) -> MintOut:
    return service.get_mint(session, principal=principal, mint_id=mint_id)


@router.post(
    "/{mint_id}/approve",
    response_model=MintOut,
    summary="Approve a mint above the threshold; it is sent once the policy's number of distinct approvers "
    "have (R12, R40)",
)
def approve_mint(mint_id: MintIdPath, request: Request, session: SessionDep, principal: ApproverDep) -> MintOut:
    return service.approve_mint(session, actor=principal, mint_id=mint_id, profile=request.app.state.profile)


@router.post(
    "/{mint_id}/reject",
    response_model=MintOut,
    summary="Decline a mint waiting for approval; its fiat is released (R40)",
)
def reject_mint(mint_id: MintIdPath, session: SessionDep, principal: ApproverDep) -> MintOut:
    return service.reject_mint(session, actor=principal, mint_id=mint_id)
