"""API key shapes. The plaintext key appears only in CreatedApiKey, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

StaffRole = Literal["admin", "operator", "compliance", "treasury", "auditor"]


class StaffKeyCreate(BaseModel):
    """An admin issues a staff key with one role (POST /v1/api-keys, R42); with two or more admins, a key
    other than an auditor's works only once a second admin approves (R40)."""

    model_config = ConfigDict(extra="forbid")

    role: StaffRole = Field(
        description="The key's one role (R42). Customer keys: POST /v1/customers/{id}/api-keys.", examples=["operator"]
    )
    label: str = Field(
        min_length=1, max_length=100, description="Who or what uses the key.", examples=["ops desk - Alice"]
    )


class RoleChangeIn(BaseModel):
    """An admin asks to change a staff key's role (POST /v1/api-keys/{key_id}/role); the answer is the approval
    a second admin gives (R40, R42)."""

    model_config = ConfigDict(extra="forbid")

    role: StaffRole = Field(
        description="The staff role the key should have once a second admin approves (R40, R42). "
        "A customer key keeps its role, and no key becomes a customer key.",
        examples=["compliance"],
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why; shown to the approving admin and kept in the audit log (R50).",
        examples=["moved from the ops desk to the KYC team"],
    )


class CustomerKeyCreate(BaseModel):
    """Optional body of POST /v1/customers/{customer_id}/api-keys: a label for the customer's new key."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Optional; defaults to the customer id.",
        examples=["treasury bot"],
    )


class ApiKeyOut(BaseModel):
    """An API key without its secret: its role (R42), owner and whether it is revoked or awaiting a second
    admin (R40). Its id is the actor in audit records (R50)."""

    id: str = Field(description="Key id; the actor in audit records.", examples=["key_018c2f1e3a4b9f3e2d1c0b0a"])
    role: str = Field(description="The key's role.", examples=["operator"])
    label: str = Field(description="Who or what uses the key.", examples=["ops desk - Alice"])
    customer_id: str | None = Field(description="The customer a customer key is bound to.", examples=[None])
    created_at: datetime = Field(description="When the key was issued (UTC).", examples=["2025-11-25T18:44:00.123456Z"])
    revoked_at: datetime | None = Field(description="When it was revoked; null while active.", examples=[None])
    pending_approval_id: str | None = Field(
        default=None,
        description="The approval a second admin must give before the key works (R40; POST "
        "/v1/approvals/{id}/approve); null once it has, and for keys that need none.",
        examples=[None],
    )


class CreatedApiKey(ApiKeyOut):
    """A newly issued key with its secret, shown only in this answer: the service keeps a hash (R43)."""

    key: str = Field(
        description="The secret key. Shown this once: it is stored only as a hash (R43).",
        examples=["cnh_Jq3…"],
    )
