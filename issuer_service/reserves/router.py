"""HTTP routes for reserves: the public transparency view and treasury's assets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from compliance.money import format_units
from issuer_service.auth import Principal, require
from issuer_service.chain.gateway import ChainUnavailable
from issuer_service.dependencies import SessionDep
from issuer_service.reserves import service
from issuer_service.reserves.schemas import AssetCreate, AssetOut, ReservesOut

router = APIRouter(prefix="/v1/reserves", tags=["reserves"])


def _chain_view(request: Request) -> dict[str, Any] | None:
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


@router.get("", response_model=ReservesOut, summary="Public reserve transparency (R1, R52)")
def get_reserves(request: Request, session: SessionDep) -> ReservesOut:
    return service.public_view(session, request.app.state.profile, _chain_view(request))


@router.post("/assets", status_code=201, response_model=AssetOut,
             summary="Record a reserve asset; counts once a second principal approves (R2, R40)")
def record_asset(body: AssetCreate, request: Request, session: SessionDep,
                 principal: Annotated[Principal, Depends(require("treasury"))]) -> AssetOut:
    return service.record_asset(session, actor=principal, body=body, profile=request.app.state.profile)


@router.post("/assets/{asset_id}/approve", response_model=AssetOut,
             summary="Second approval of a reserve asset by a different principal (R40)")
def approve_asset(asset_id: str, request: Request, session: SessionDep,
                  principal: Annotated[Principal, Depends(require("treasury", "admin"))]) -> AssetOut:
    return service.approve_asset(session, actor=principal, asset_id=asset_id, profile=request.app.state.profile)
