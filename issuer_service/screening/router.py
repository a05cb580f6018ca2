"""HTTP routes for sanctions screening (R23): the list, re-screening and the cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import CaseIdPath
from issuer_service.screening import service
from issuer_service.screening.schemas import (
    CaseDecisionIn,
    CaseOut,
    CaseStatus,
    ListLoadedOut,
    RescreenOut,
    ScreeningListIn,
    ScreeningListOut,
)

router = APIRouter(prefix="/v1/screening", tags=["screening"])

ComplianceDep = Annotated[Principal, Depends(require("compliance"))]
ReaderDep = Annotated[Principal, Depends(require("compliance", "auditor"))]


@router.get("/list", response_model=ScreeningListOut, summary="The sanctions screening list in force (R23)")
def get_list(session: SessionDep, principal: ReaderDep) -> ScreeningListOut:
    return service.get_list(session)


@router.put(
    "/list",
    response_model=ListLoadedOut,
    summary="Load a new screening list; every customer and wallet is re-screened (R23)",
)
def load_list(body: ScreeningListIn, session: SessionDep, principal: ComplianceDep) -> ListLoadedOut:
    return service.load_list(session, actor=principal, body=body)


@router.post("/rescreen", response_model=RescreenOut, summary="Re-screen everyone against the list in force (R23)")
def rescreen(session: SessionDep, principal: ComplianceDep) -> RescreenOut:
    return service.rescreen(session, actor=principal)


@router.get("/cases", response_model=Page[CaseOut], summary="Screening cases (R23)")
def list_cases(
    session: SessionDep,
    principal: ReaderDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: Annotated[CaseStatus | None, Query(description="Only this status.", examples=["open"])] = None,
    customer_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this customer's cases.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"]),
    ] = None,
) -> Page[CaseOut]:
    return service.list_cases(session, status=status, customer_id=customer_id, limit=limit, cursor=cursor)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One screening case")
def get_case(case_id: CaseIdPath, session: SessionDep, principal: ReaderDep) -> CaseOut:
    return service.get_case(session, case_id)


@router.post(
    "/cases/{case_id}/clear",
    response_model=CaseOut,
    summary="A false positive: unfreeze and unblock once nothing else is unresolved (R23)",
)
def clear_case(case_id: CaseIdPath, body: CaseDecisionIn, session: SessionDep, principal: ComplianceDep) -> CaseOut:
    return service.clear_case(session, actor=principal, case_id=case_id, body=body)


@router.post(
    "/cases/{case_id}/confirm",
    response_model=CaseOut,
    summary="A true match: the customer stays blocked and the wallets frozen (R23, R24)",
)
def confirm_case(case_id: CaseIdPath, body: CaseDecisionIn, session: SessionDep, principal: ComplianceDep) -> CaseOut:
    return service.confirm_case(session, actor=principal, case_id=case_id, body=body)
