"""HTTP routes for travel-rule records and requirements (R25)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from compliance.money import AmountError, parse_amount_fen
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.errors import ValidationFailed
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.travel_rule import service
from issuer_service.travel_rule.schemas import RequirementsOut, TravelRuleRecordCreate, TravelRuleRecordOut

router = APIRouter(prefix="/v1/travel-rule", tags=["travel rule"])


@router.get(
    "/requirements",
    response_model=RequirementsOut,
    summary="Which originator and beneficiary fields a redemption of this amount must carry (R25)",
)
def get_requirements(
    request: Request,
    amount: Annotated[str, Query(max_length=32, description="CNH decimal string.", examples=["8000.00"])],
) -> RequirementsOut:
    try:
        amount_fen = parse_amount_fen(amount)
    except AmountError as exc:
        raise ValidationFailed(exc.message, field="query.amount") from None
    return service.requirements(request.app.state.profile, amount_fen)


@router.post(
    "/records",
    status_code=201,
    response_model=TravelRuleRecordOut,
    summary="Record originator and beneficiary data of an on-chain transfer by its tx hash (R25)",
)
def create_record(
    body: TravelRuleRecordCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("customer", "operator", "compliance"))],
) -> TravelRuleRecordOut:
    return service.create_record(session, actor=principal, body=body)


@router.get("/records", response_model=Page[TravelRuleRecordOut], summary="Travel-rule records (R25)")
def list_records(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("compliance", "auditor"))],
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    tx_hash: Annotated[
        str | None, Query(max_length=66, description="Only this transaction.", examples=["0x" + "ab" * 32])
    ] = None,
    kind: Annotated[
        Literal["redemption", "mint", "seizure", "transfer"] | None,
        Query(description="Only this kind.", examples=["transfer"]),
    ] = None,
) -> Page[TravelRuleRecordOut]:
    return service.list_records(session, tx_hash=tx_hash, kind=kind, limit=limit, cursor=cursor)
