"""HTTP routes for freeze, unfreeze and seizure (R24)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.enforcement import service
from issuer_service.enforcement.schemas import FreezeIn, SeizureCreate, SeizureOut, UnfreezeIn, WalletEnforcementOut
from issuer_service.idempotency import IdempotencyKeyHeader, idempotent
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import AddressPath, SeizureIdPath

router = APIRouter(tags=["enforcement"])

ComplianceDep = Annotated[Principal, Depends(require("compliance"))]
ReaderDep = Annotated[Principal, Depends(require("compliance", "operator", "auditor"))]


@router.post(
    "/v1/wallets/{address}/freeze",
    status_code=202,
    response_model=WalletEnforcementOut,
    summary="Freeze a wallet on chain: no send, no receive (R24)",
)
def freeze(address: AddressPath, body: FreezeIn, session: SessionDep, principal: ComplianceDep) -> WalletEnforcementOut:
    return service.freeze_wallet(session, actor=principal, address=address, body=body)


@router.post(
    "/v1/wallets/{address}/unfreeze",
    status_code=202,
    response_model=WalletEnforcementOut,
    summary="Lift compliance's freeze; screening freezes are lifted by clearing their case (R23, R24)",
)
def unfreeze(
    address: AddressPath,
    body: UnfreezeIn,
    session: SessionDep,
    principal: ComplianceDep,
) -> WalletEnforcementOut:
    return service.unfreeze_wallet(session, actor=principal, address=address, body=body)


@router.get(
    "/v1/wallets/{address}/freezes",
    response_model=WalletEnforcementOut,
    summary="A wallet's freeze state and every hold on it (R24)",
)
def freezes(address: AddressPath, session: SessionDep, principal: ReaderDep) -> WalletEnforcementOut:
    return service.get_enforcement(session, address=address)


@router.post(
    "/v1/seizures",
    status_code=202,
    response_model=SeizureOut,
    summary="Ask to seize a frozen balance on a legal basis; a second principal approves (R24, R40)",
)
def request_seizure(
    body: SeizureCreate,
    request: Request,
    session: SessionDep,
    principal: ComplianceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    gateway = request.app.state.gateway
    return idempotent(
        session,
        principal,
        request,
        body,
        lambda: service.request_seizure(session, actor=principal, body=body, gateway=gateway),
        status_code=202,
    )


@router.get("/v1/seizures", response_model=Page[SeizureOut], summary="Seizures (R24)")
def list_seizures(
    session: SessionDep, principal: ReaderDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[SeizureOut]:
    return service.list_seizures(session, limit=limit, cursor=cursor)


@router.get("/v1/seizures/{seizure_id}", response_model=SeizureOut, summary="One seizure, its burn and re-mint")
def get_seizure(seizure_id: SeizureIdPath, session: SessionDep, principal: ReaderDep) -> SeizureOut:
    return service.get_seizure(session, seizure_id)
