"""HTTP routes for reserves: the public transparency view, treasury's assets and valuations, and
the daily statements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from compliance.money import format_units
from issuer_service.approvals.auth import require_approver
from issuer_service.auth import Principal, require
from issuer_service.chain.gateway import ChainUnavailable
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import AssetIdPath, ValuationIdPath
from issuer_service.reserves import service, statements
from issuer_service.reserves.schemas import (
    AssetCreate,
    AssetOut,
    ReservesOut,
    StatementOut,
    ValuationCreate,
    ValuationOut,
)

router = APIRouter(prefix="/v1/reserves", tags=["reserves"])

TreasuryDep = Annotated[Principal, Depends(require("treasury"))]
ApproverDep = Annotated[Principal, Depends(require("treasury", "admin"))]
# Who decides on a recorded asset or valuation is the approval policy's `reserve_asset.change` (R40).
ChangeApproverDep = Annotated[Principal, Depends(require_approver(service.CHANGE_ACTION))]
ReaderDep = Annotated[Principal, Depends(require("treasury", "auditor", "admin"))]


def chain_view(request: Request) -> dict[str, Any] | None:
    gateway = request.app.state.gateway
    if gateway is None:
        return None
    try:
        state = gateway.reserve_state()
        return {
            "total_supply": format_units(gateway.total_supply()),
            "attested_reserve": format_units(state.attested_reserve_units),
            "attested_at": state.attested_at,
            "token": gateway.token_address,
            "chain_id": gateway.chain_id,
        }
    except ChainUnavailable:
        return {"error": "chain unavailable"}


@router.get("", response_model=ReservesOut, summary="Public reserve transparency (R1, R6, R52)")
def get_reserves(request: Request, session: SessionDep) -> ReservesOut:
    return service.public_view(session, request.app.state.profile, chain_view(request))


@router.post(
    "/assets",
    status_code=201,
    response_model=AssetOut,
    summary="Record a reserve asset; counts once a second principal approves (R2, R3, R40)",
)
def record_asset(body: AssetCreate, request: Request, session: SessionDep, principal: TreasuryDep) -> AssetOut:
    return service.record_asset(session, actor=principal, body=body, profile=request.app.state.profile)


@router.get("/assets", summary="Reserve assets with their eligibility today (R2–R4)")
def list_assets(
    request: Request, session: SessionDep, principal: ReaderDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[AssetOut]:
    return service.list_assets(session, profile=request.app.state.profile, limit=limit, cursor=cursor)


@router.get("/assets/{asset_id}", response_model=AssetOut, summary="One reserve asset")
def get_asset(asset_id: AssetIdPath, request: Request, session: SessionDep, principal: ReaderDep) -> AssetOut:
    return service.get_asset(session, asset_id=asset_id, profile=request.app.state.profile)


@router.post(
    "/assets/{asset_id}/approve",
    response_model=AssetOut,
    summary="Second approval of a reserve asset by a different principal (R40)",
)
def approve_asset(
    asset_id: AssetIdPath,
    request: Request,
    session: SessionDep,
    principal: ChangeApproverDep,
) -> AssetOut:
    return service.approve_asset(
        session,
        actor=principal,
        asset_id=asset_id,
        profile=request.app.state.profile,
        gateway=request.app.state.gateway,
    )


@router.post(
    "/assets/{asset_id}/reject",
    response_model=AssetOut,
    summary="A different principal declines a recorded reserve asset (R40)",
)
def reject_asset(
    asset_id: AssetIdPath,
    request: Request,
    session: SessionDep,
    principal: ChangeApproverDep,
) -> AssetOut:
    return service.reject_asset(session, actor=principal, asset_id=asset_id, profile=request.app.state.profile)


@router.post(
    "/assets/{asset_id}/valuations",
    status_code=201,
    response_model=ValuationOut,
    summary="Revalue a reserve asset; counts once a second principal approves (R5, R40)",
)
def revalue_asset(
    asset_id: AssetIdPath,
    body: ValuationCreate,
    session: SessionDep,
    principal: TreasuryDep,
) -> ValuationOut:
    return service.revalue_asset(session, actor=principal, asset_id=asset_id, body=body)


@router.get(
    "/assets/{asset_id}/valuations",
    response_model=list[ValuationOut],
    summary="Valuation history of a reserve asset, oldest first (R5, R51)",
)
def list_valuations(asset_id: AssetIdPath, session: SessionDep, principal: ReaderDep) -> list[ValuationOut]:
    return service.list_valuations(session, asset_id=asset_id)


@router.post(
    "/valuations/{valuation_id}/approve",
    response_model=ValuationOut,
    summary="Second approval of a revaluation by a different principal (R40)",
)
def approve_valuation(
    valuation_id: ValuationIdPath, request: Request, session: SessionDep, principal: ChangeApproverDep
) -> ValuationOut:
    return service.approve_valuation(
        session,
        actor=principal,
        valuation_id=valuation_id,
        profile=request.app.state.profile,
        gateway=request.app.state.gateway,
    )


@router.post(
    "/valuations/{valuation_id}/reject",
    response_model=ValuationOut,
    summary="A different principal declines a revaluation (R40)",
)
def reject_valuation(valuation_id: ValuationIdPath, session: SessionDep, principal: ChangeApproverDep) -> ValuationOut:
    return service.reject_valuation(session, actor=principal, valuation_id=valuation_id)


@router.post(
    "/statements",
    response_model=StatementOut,
    status_code=201,
    responses={200: {"model": StatementOut, "description": "Today's statement was already drawn."}},
    summary="Draw today's reserve statement now (the worker also draws it daily) (R5, R52)",
)
def draw_statement(request: Request, response: Response, session: SessionDep, principal: ApproverDep) -> StatementOut:
    statement, drawn = statements.draw_statement(
        session, profile=request.app.state.profile, gateway=request.app.state.gateway, actor=principal.id
    )
    if not drawn:
        response.status_code = 200
    return statement


@router.get("/statements", summary="Daily reserve statements, oldest first (R52)")
def list_statements(
    session: SessionDep, principal: ReaderDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[StatementOut]:
    return statements.list_statements(session, limit=limit, cursor=cursor)
