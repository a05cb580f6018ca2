"""Pause/resume shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SystemStatusOut(BaseModel):
    """Whether the service is paused and whether a resume awaits a second admin (R41). The answer of the
    /v1/admin routes."""

    status: Literal["active", "paused", "pending_second_approval"] = Field(
        description="active, paused, or paused with a resume waiting for a second admin (R41).",
        examples=["pending_second_approval"],
    )
    paused: bool = Field(description="Whether minting, redemption and transfers are paused.", examples=[True])
    pending_approval_id: str | None = Field(
        description="The resume request waiting for a second admin, if any.", examples=["apr_018c2f1e3a4b9f3e2d1c0b0a"]
    )
    requested_by: str | None = Field(
        description="Who asked to resume, if a resume is pending.", examples=["key_018c2f1e3a4b"]
    )
