"""HTTP routes for API keys (admin only, R42)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from issuer_service.api_keys import role_changes, service
from issuer_service.api_keys.schemas import (
    ApiKeyOut,
    CreatedApiKey,
    CustomerKeyCreate,
    RoleChangeIn,
    StaffKeyCreate,
)
from issuer_service.approvals.schemas import ApprovalOut
from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep, SettingsDep
from issuer_service.path_params import CustomerIdPath, KeyIdPath

router = APIRouter(tags=["api-keys"])

AdminDep = Annotated[Principal, Depends(require("admin"))]


@router.post(
    "/v1/api-keys",
    status_code=201,
    summary="Issue a staff key (shown once)",
    responses={
        202: {
            "model": CreatedApiKey,
            "description": "Issued, but with two or more admins a staff key other than an auditor's works only once "
            "a second admin approves `pending_approval_id` (R40).",
        }
    },
)
def create_staff_key(
    body: StaffKeyCreate, session: SessionDep, settings: SettingsDep, principal: AdminDep, response: Response
) -> CreatedApiKey:
    response.headers["Cache-Control"] = "no-store"  # the body holds a secret
    created = service.create_staff_key(
        session, pepper=settings.api_key_pepper.get_secret_value(), actor=principal, role=body.role, label=body.label
    )
    if created.pending_approval_id is not None:
        response.status_code = 202
    return created


@router.delete("/v1/api-keys/{key_id}", summary="Revoke a key")
def revoke_key(key_id: KeyIdPath, session: SessionDep, principal: AdminDep) -> ApiKeyOut:
    return service.revoke_key(session, actor=principal, key_id=key_id)


@router.post(
    "/v1/api-keys/{key_id}/role",
    status_code=202,
    response_model=ApprovalOut,
    summary="Ask for a staff key's role change; it applies once a second admin approves (R40, R42)",
)
def request_role_change(key_id: KeyIdPath, body: RoleChangeIn, session: SessionDep, principal: AdminDep) -> ApprovalOut:
    return role_changes.request_role_change(session, actor=principal, key_id=key_id, role=body.role, reason=body.reason)


@router.post("/v1/customers/{customer_id}/api-keys", status_code=201, summary="Issue a customer key (shown once)")
def create_customer_key(
    customer_id: CustomerIdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: AdminDep,
    response: Response,
    body: CustomerKeyCreate | None = None,
) -> CreatedApiKey:
    response.headers["Cache-Control"] = "no-store"
    return service.create_customer_key(
        session,
        pepper=settings.api_key_pepper.get_secret_value(),
        actor=principal,
        customer_id=customer_id,
        label=body.label if body else None,
    )
