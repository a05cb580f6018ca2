"""Typed views of what the API returns (design.md "HTTP API v1").

Amounts stay decimal strings exactly as the API sends them ("1250.50"): wrap them in
`decimal.Decimal` for arithmetic, never `float`. Unknown members the service adds later are kept
(`extra="allow"`), so an older SDK keeps working against a newer service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

StaffRole = Literal["admin", "operator", "compliance", "treasury", "auditor"]
CustomerKind = Literal["individual", "institution"]
RiskLevel = Literal["low", "medium", "high"]
MintStatus = Literal["requested", "pending_approval", "approved", "submitted", "confirmed", "rejected", "failed"]
RedemptionStatus = Literal["requested", "burn_submitted", "burned", "paid", "rejected", "failed"]

MINT_FINAL: frozenset[str] = frozenset({"confirmed", "rejected", "failed"})
REDEMPTION_FINAL: frozenset[str] = frozenset({"paid", "rejected", "failed"})
WALLET_SETTLED: frozenset[str] = frozenset({"active", "revoked"})


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Page(ApiModel, Generic[T]):
    """One page of a list: pass `next_cursor` as `cursor` for the next; None on the last page."""

    items: list[T]
    next_cursor: str | None = None


class Liveness(ApiModel):
    status: str


class CheckResult(ApiModel):
    ok: bool
    detail: str


class Readiness(ApiModel):
    status: str
    checks: dict[str, CheckResult]


class Token(ApiModel):
    """What a client needs to read balances and sign a permit."""

    name: str
    symbol: str
    decimals: int
    chain_id: int
    address: str
    rpc_url: str
    redemption_spender: str
    permit_domain: dict[str, Any]
    banner: str | None = None


class FaucetResult(ApiModel):
    address: str
    amount_wei: str


class ApiKey(ApiModel):
    id: str
    role: str
    label: str
    customer_id: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None
    pending_approval_id: str | None = None
    """With two admins or more: the approval a second admin must give before the key works."""


class CreatedApiKey(ApiKey):
    key: str
    """The secret, shown this once."""


class Customer(ApiModel):
    id: str
    name: str
    kind: CustomerKind
    jurisdiction: str
    kyc_status: Literal["pending", "approved", "rejected"]
    risk: RiskLevel | None = None
    status: Literal["active", "blocked"]
    created_at: datetime


class Balance(ApiModel):
    available: str
    reserved: str


class Deposit(ApiModel):
    id: str
    customer_id: str
    amount: str
    currency: str
    bank_reference: str
    status: str
    created_at: datetime


class WalletChallenge(ApiModel):
    address: str
    message: str
    expires_at: datetime


class Wallet(ApiModel):
    id: str
    customer_id: str
    address: str
    kind: Literal["eoa", "contract"]
    status: Literal["pending", "active", "revoked"]
    frozen: bool
    created_at: datetime
    activated_at: datetime | None = None
    on_chain: dict[str, Any] | None = None


class Mint(ApiModel):
    id: str
    customer_id: str
    wallet: str
    amount: str
    status: MintStatus
    reason_code: str | None = None
    reason: str | None = None
    requested_by: str
    approved_by: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    audit_ref: int | None = None
    created_at: datetime
    updated_at: datetime


class Permit(ApiModel):
    """An EIP-2612 permit signature for a redemption: `{deadline, v, r, s}`."""

    deadline: int
    v: int
    r: str
    s: str


class RedemptionQuote(ApiModel):
    amount: str
    fee: str
    payout: str
    deadline_at: datetime
    minimum: str
    profile: str


class Redemption(ApiModel):
    id: str
    customer_id: str
    wallet: str
    amount: str
    fee: str
    payout: str
    status: RedemptionStatus
    reason_code: str | None = None
    reason: str | None = None
    chain_request_id: str
    burn_tx_hash: str | None = None
    block_number: int | None = None
    payout_reference: str | None = None
    deadline_at: datetime
    paid_at: datetime | None = None
    sla_met: bool | None = None
    audit_ref: int | None = None
    created_at: datetime
    updated_at: datetime


class Reserves(ApiModel):
    """The public transparency view."""

    supply: str
    outstanding: str
    in_flight_mints: str
    reserves: str
    required_reserves: str
    surplus: str
    ratio: str | None = None
    buffer_bps: int
    fully_backed: bool
    last_valuation_at: datetime | None = None
    profile: str
    chain: dict[str, Any] | None = None
    banner: str | None = None


class ReserveAsset(ApiModel):
    id: str
    kind: str
    custodian: str
    account: str | None = None
    currency: str
    nominal: str
    market_value: str
    maturity: date | None = None
    valued_at: datetime | None = None
    reference: str
    status: str
    """pending_approval, active or rejected: it counts only once a second principal approved it (R40)."""
    requested_by: str
    approved_by: str | None = None
    eligible: bool | None = None
    counts_toward_backing: str
    created_at: datetime


class Valuation(ApiModel):
    id: str
    asset_id: str
    nominal: str
    market_value: str
    valued_at: datetime
    reference: str
    status: str
    requested_by: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime


class ReserveStatement(ApiModel):
    id: str
    business_date: date
    supply: str
    reserves: str
    required_reserves: str
    surplus: str


class AttestationSummary(ApiModel):
    id: str
    as_of_block: int
    block_hash: str
    block_time: datetime
    sha256: str
    """SHA-256 of the canonical report bytes (`attestation_report(id, "json")`)."""
    result: str
    """pass or fail: reserves cover supply plus the buffer (R1)."""
    supply: str
    holders: int
    proof_of_liabilities_root: str
    created_by: str
    created_at: datetime
    links: dict[str, str]


class Attestation(AttestationSummary):
    """A reserve attestation report (R52-R54)."""

    report: dict[str, Any]
    reproduced: bool = False


class Webhook(ApiModel):
    id: str
    url: str
    events: list[str] | None = None
    description: str | None = None
    status: str
    created_at: datetime
    deleted_at: datetime | None = None


class CreatedWebhook(Webhook):
    secret: str
    """The whsec_ signing secret, shown this once: keep it for `verify_webhook`."""


class WebhookDelivery(ApiModel):
    id: str
    event_id: str
    event_type: str
    entity_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime
    log: list[dict[str, Any]] = []


class AuditRecord(ApiModel):
    seq: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: dict[str, Any]
    rule_ids: list[str]
    request_id: str | None = None
    prev_hash: str
    hash: str


class AuditVerification(ApiModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


class SystemStatus(ApiModel):
    status: Literal["active", "paused", "pending_second_approval"]
    paused: bool
    pending_approval_id: str | None = None
    requested_by: str | None = None


class ApprovalVote(ApiModel):
    approver_id: str
    approver_role: str
    reference: str | None = None
    note: str | None = None
    created_at: datetime


class Approval(ApiModel):
    """A maker-checker request (R40): `payload` is the exact change that runs once enough distinct
    principals with one of `approver_roles` approve; the requester never counts."""

    id: str
    action: str
    subject_type: str
    subject_id: str
    summary: str
    payload: dict[str, Any]
    status: Literal["pending", "approved", "rejected", "cancelled"]
    required_approvals: int
    approver_roles: list[str]
    requested_by: str
    requester_role: str
    approvals: list[ApprovalVote] = []
    rule_ids: list[str] = []
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
