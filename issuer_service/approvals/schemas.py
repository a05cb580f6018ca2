"""Approval shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ApprovalStatus = Literal["pending", "approved", "rejected", "cancelled"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ApprovalDecisionIn(BaseModel):
    """An approver's yes to a pending request (POST /v1/approvals/{approval_id}/approve), with the evidence
    relied on (R40, R50)."""

    model_config = ConfigDict(extra="forbid")

    reference: Text200 | None = Field(
        default=None,
        description="Evidence the approver relies on (case file, EDD report); required where the "
        "policy says reference_required.",
        examples=["EDD-2026-0007"],
    )
    note: Note | None = Field(
        default=None,
        description="Free-text reason, kept in the audit log (R50).",
        examples=["source of funds verified against bank statements"],
    )


class ApprovalVoteOut(BaseModel):
    """One approval given on a request: who, in which role, citing what."""

    approver_id: str = Field(description="The approving principal (API key id).", examples=["key_018c2f1e3a4b"])
    approver_role: str = Field(description="Its role.", examples=["compliance"])
    reference: str | None = Field(description="Evidence cited.", examples=["EDD-2026-0007"])
    note: str | None = Field(description="Reason given.", examples=[None])
    created_at: datetime = Field(description="When approved (UTC).", examples=["2026-01-05T08:00:00Z"])


class ApprovalOut(BaseModel):
    """A maker-checker request (R40): the change waiting for approval, who asked, who may approve and the
    approvals so far. Returned by the /v1/approvals routes and by the role and limit change requests."""

    id: str = Field(description="Approval request id.", examples=["apq_018c2f1e3a4b9f3e2d1c0b0a"])
    action: str = Field(description="The policy action (GET /v1/approvals/policy).", examples=["seizure"])
    subject_type: str = Field(description="What it is about.", examples=["seizure"])
    subject_id: str = Field(description="Id of the subject.", examples=["szr_018c2f1e3a4b9f3e2d1c0b0a"])
    summary: str = Field(description="One line for the approver.", examples=["seize 100.00 from 0x5173…"])
    payload: dict[str, object] = Field(
        description="The exact change that runs when approved.", examples=[{"daily_mint_limit_fen": 500000}]
    )
    status: ApprovalStatus = Field(
        description="pending until enough distinct approvers agree (R40).", examples=["pending"]
    )
    required_approvals: int = Field(description="Distinct approvers needed besides the requester.", examples=[1])
    approver_roles: list[str] = Field(description="Roles that may approve.", examples=[["compliance", "admin"]])
    requested_by: str = Field(
        description="The maker; never an approver of their own request.", examples=["key_018c2f1e3a4b"]
    )
    requester_role: str = Field(description="The maker's role.", examples=["compliance"])
    approvals: list[ApprovalVoteOut] = Field(description="Approvals so far, oldest first.", examples=[[]])
    rule_ids: list[str] = Field(description="Rules this approval enforces.", examples=[["R24", "R40"]])
    created_at: datetime = Field(description="When requested (UTC).", examples=["2026-01-05T08:00:00Z"])
    decided_by: str | None = Field(description="Who completed, rejected or withdrew it.", examples=[None])
    decided_at: datetime | None = Field(description="When it was decided.", examples=[None])
    decision_note: str | None = Field(description="Reason given with a rejection.", examples=[None])


class ApprovalRejectIn(BaseModel):
    """Why a pending request is rejected by an approver or withdrawn by its requester
    (POST /v1/approvals/{approval_id}/reject)."""

    model_config = ConfigDict(extra="forbid")

    note: Note = Field(
        description="Why it is rejected (or withdrawn by the requester).",
        examples=["legal basis does not cover this wallet"],
    )


class PolicyRuleOut(BaseModel):
    """The maker-checker rule of one action: who may ask, who may approve and how many must (R40)."""

    description: str = Field(description="What the action is.", examples=["Burn a frozen wallet's balance ..."])
    requester_roles: list[str] = Field(description="Who may ask.", examples=[["compliance"]])
    approver_roles: list[str] = Field(description="Who may approve.", examples=[["compliance", "admin"]])
    approvals_required: int = Field(description="Distinct approvers besides the requester.", examples=[1])
    reference_required: bool = Field(description="Approvers must cite evidence.", examples=[False])
    rule_ids: list[str] = Field(description="Rules enforced.", examples=[["R24", "R40"]])


class PolicyOut(BaseModel):
    """The approval policy in force (GET /v1/approvals/policy): each high-risk action's maker-checker rule (R40)."""

    version: str = Field(description="Policy file version.", examples=["2026-01"])
    actions: dict[str, PolicyRuleOut] = Field(description="Each action's maker-checker rule (R40).", examples=[{}])
