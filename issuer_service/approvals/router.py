"""HTTP routes of the general approvals mechanism (R40)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from issuer_service.approvals import service
from issuer_service.approvals.schemas import (
    ApprovalDecisionIn,
    ApprovalOut,
    ApprovalRejectIn,
    ApprovalStatus,
    PolicyOut,
)
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import ApprovalIdPath

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

StaffDep = Annotated[Principal, Depends(require("admin", "operator", "compliance", "treasury", "auditor"))]
# Who may act is the policy's business (per action); the auditor only reads (R42).
DeciderDep = Annotated[Principal, Depends(require("admin", "operator", "compliance", "treasury"))]


@router.get("/policy", response_model=PolicyOut, summary="Which action needs how many approvers of which roles (R40)")
def get_policy(principal: StaffDep) -> PolicyOut:
    return service.policy_out()


@router.get("", response_model=Page[ApprovalOut], summary="List approval requests (R40)")
def list_approvals(
    session: SessionDep,
    principal: StaffDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: Annotated[ApprovalStatus | None, Query(description="Only this status.", examples=["pending"])] = None,
    action: Annotated[str | None, Query(max_length=40, description="Only this action.", examples=["seizure"])] = None,
) -> Page[ApprovalOut]:
    return service.list_requests(session, status=status, action=action, limit=limit, cursor=cursor)


@router.get("/{approval_id}", response_model=ApprovalOut, summary="One approval request and its approvals")
def get_approval(approval_id: ApprovalIdPath, session: SessionDep, principal: StaffDep) -> ApprovalOut:
    return service.get_request(session, approval_id)


@router.post(
    "/{approval_id}/approve",
    response_model=ApprovalOut,
    summary="Approve; the change runs when enough distinct principals have (R40)",
)
def approve(
    approval_id: ApprovalIdPath, body: ApprovalDecisionIn, request: Request, session: SessionDep, principal: DeciderDep
) -> ApprovalOut:
    context = service.ApprovalContext(profile=request.app.state.profile, gateway=request.app.state.gateway)
    return service.approve(session, actor=principal, request_id=approval_id, body=body, context=context)


@router.post(
    "/{approval_id}/reject",
    response_model=ApprovalOut,
    summary="Reject (an approver) or withdraw (the requester) a pending request",
)
def reject(
    approval_id: ApprovalIdPath,
    body: ApprovalRejectIn,
    session: SessionDep,
    principal: DeciderDep,
) -> ApprovalOut:
    return service.reject(session, actor=principal, request_id=approval_id, body=body)
