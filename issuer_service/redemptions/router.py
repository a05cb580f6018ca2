"""HTTP routes for redemptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from compliance.money import AmountError, parse_amount_fen
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.errors import ServiceUnavailable, ValidationFailed
from issuer_service.idempotency import IdempotencyKeyHeader, idempotent
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import RedemptionIdPath
from issuer_service.redemptions import service
from issuer_service.redemptions.schemas import QuoteOut, RedemptionCreate, RedemptionOut

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])


@router.get("/quote", response_model=QuoteOut, summary="Fee, payout and deadline before you redeem (R13, R14)")
def get_quote(request: Request, amount: Annotated[str, Query(max_length=32, description="CNH decimal string.",
                                                                 examples=["100.00"])]) -> QuoteOut:
    try:
        amount_fen = parse_amount_fen(amount)
    except AmountError as exc:
        raise ValidationFailed(exc.message, field="query.amount") from None
    return service.quote(request.app.state.profile, amount_fen)


@router.post("", status_code=202, response_model=RedemptionOut,
             summary="Redeem tokens at par with an EIP-2612 permit; burn first, then payout (R13, R16)")
def create_redemption(body: RedemptionCreate, request: Request, session: SessionDep,
                      principal: Annotated[Principal, Depends(require("customer"))],
                      idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    gateway = request.app.state.gateway
    if gateway is None:
        raise ServiceUnavailable("the service runs without a chain; redemptions are unavailable")
    profile = request.app.state.profile
    return idempotent(session, principal, request, body,
                      lambda: service.create_redemption(session, actor=principal, body=body, profile=profile,
                                                        gateway=gateway), status_code=202,
                      # A retry re-signs the permit (a later deadline, the next nonce once the burn
                      # landed): it authorises the burn, it is not what is asked.
                      not_compared=frozenset({"permit"}))


@router.get("", response_model=Page[RedemptionOut], summary="List redemptions (customers see their own)")
def list_redemptions(session: SessionDep,
                     principal: Annotated[Principal, Depends(require("customer", "operator", "auditor"))],
                     limit: LimitQuery = 50, cursor: CursorQuery = None) -> Page[RedemptionOut]:
    return service.list_redemptions(session, principal=principal, limit=limit, cursor=cursor)


@router.get("/{redemption_id}", response_model=RedemptionOut, summary="A redemption's burn, payout and deadline")
def get_redemption(redemption_id: RedemptionIdPath, session: SessionDep,
                   principal: Annotated[Principal, Depends(require("customer", "operator", "auditor"))]
                   ) -> RedemptionOut:
    return service.get_redemption(session, principal=principal, redemption_id=redemption_id)
