"""HTTP routes for pause and resume (admin, R41)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from issuer_service.admin import service
from issuer_service.admin.schemas import SystemStatusOut
from issuer_service.approvals.service import ApprovalContext
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])

AdminDep = Annotated[Principal, Depends(require("admin"))]


@router.get("/state", summary="Is the service paused?")
def get_state(
    session: SessionDep, principal: Annotated[Principal, Depends(require("admin", "operator", "auditor"))]
) -> SystemStatusOut:
    return service.get_status(session)


@router.post("/pause", summary="Pause now (single admin, R41)")
def pause(session: SessionDep, principal: AdminDep) -> SystemStatusOut:
    return service.pause(session, actor=principal)


@router.post(
    "/resume",
    summary="Resume (needs two different admins, R40/R41)",
    responses={
        202: {"model": SystemStatusOut, "description": "Recorded; a second, different admin must call resume too."}
    },
)
def resume(session: SessionDep, principal: AdminDep, request: Request, response: Response) -> SystemStatusOut:
    context = ApprovalContext(profile=request.app.state.profile, gateway=request.app.state.gateway)
    status, resumed = service.resume(session, actor=principal, context=context)
    response.status_code = 200 if resumed else 202
    return status
