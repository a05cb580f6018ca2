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
ApprovalStatus = Literal["pending", "approved", "rejected", "cancelled"]
ScreeningCaseStatus = Literal["open", "cleared", "confirmed"]
SeizureStatus = Literal[
    "pending_approval",
    "approved",
    "burn_submitted",
    "burned",
    "remint_submitted",
    "completed",
    "rejected",
    "failed",
    "remint_failed",
]
TravelRuleKind = Literal["redemption", "mint", "seizure", "transfer"]

MINT_FINAL: frozenset[str] = frozenset({"confirmed", "rejected", "failed"})
REDEMPTION_FINAL: frozenset[str] = frozenset({"paid", "rejected", "failed"})
WALLET_SETTLED: frozenset[str] = frozenset({"active", "revoked"})
SEIZURE_FINAL: frozenset[str] = frozenset({"completed", "rejected", "failed", "remint_failed"})


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
    status: ApprovalStatus
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


class ApprovalPolicyRule(ApiModel):
    """Who may ask for an action and who, how many, must approve it (R40)."""

    description: str
    requester_roles: list[str]
    approver_roles: list[str]
    approvals_required: int
    """Distinct approvers besides the requester."""
    reference_required: bool
    """Approvers must cite evidence (`approve_request(..., reference=)`)."""
    rule_ids: list[str]


class ApprovalPolicy(ApiModel):
    """The maker-checker policy in force: each action's rule, by action name (R40)."""

    version: str
    actions: dict[str, ApprovalPolicyRule]


# --- customers: due diligence and limits ----------------------------------------------------------


class DueDiligence(ApiModel):
    """A customer's KYC, enhanced due diligence and screening state (R20, R23)."""

    customer_id: str
    kyc_status: str
    risk: str | None = None
    status: str
    """active, or blocked by a sanctions screening case (R23)."""
    enhanced_due_diligence: Literal["not_required", "pending", "completed"]
    edd_approval_id: str | None = None
    """The approval a second compliance officer gives with the EDD reference (`approve_request`)."""
    edd_reference: str | None = None
    unresolved_screening_cases: list[str] = []
    may_transact: bool


class DailyLimit(ApiModel):
    limit: str
    """The daily limit in force today (CNH)."""
    source: Literal["profile", "override"]
    """The profile's limit for the customer's risk, or an approved per-customer change."""
    used_today: str


class CustomerLimits(ApiModel):
    """Daily mint and redemption limits in force for a customer (R12)."""

    customer_id: str
    risk: str | None = None
    profile: str
    mint: DailyLimit
    redeem: DailyLimit
    pending_change_ids: list[str] = []
    """Limit changes waiting for approval (`get_approval`)."""


# --- sanctions screening (R23) --------------------------------------------------------------------


class ListedParty(ApiModel):
    """One entry of a screening list; also what `load_screening_list` takes (`note` may be added)."""

    id: str
    name: str
    aliases: list[str] = []
    addresses: list[str] = []
    program: str = ""


class ScreeningList(ApiModel):
    version: str
    source: str
    sha256: str
    shipped: bool
    """True while the sandbox's own fictional list is in force (none loaded)."""
    loaded_by: str | None = None
    loaded_at: datetime | None = None
    name_match_threshold: int
    entries: list[ListedParty]


class RescreenResult(ApiModel):
    list_version: str
    customers_screened: int
    wallets_screened: int
    cases_opened: list[str]
    customers_blocked: list[str]
    wallets_frozen: list[str]
    """Wallets put on hold; their freeze is sent through the outbox."""


class ScreeningListLoaded(ApiModel):
    list: ScreeningList
    rescreen: RescreenResult


class ScreeningCase(ApiModel):
    """A screening hit: open until compliance clears (false positive) or confirms (true match) it."""

    id: str
    subject_type: Literal["customer", "wallet"]
    subject_id: str
    customer_id: str
    screened_value: str
    list_version: str
    entry_id: str
    entry_name: str
    match_kind: Literal["name", "address"]
    matched_value: str
    score: int
    status: ScreeningCaseStatus
    opened_by: str
    opened_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


# --- freeze and seizure (R24) ---------------------------------------------------------------------


class Hold(ApiModel):
    """One reason a wallet is frozen: compliance's, or a screening case's (`case_id`)."""

    id: str
    reason: str
    legal_basis: str | None = None
    case_id: str | None = None
    requested_by: str
    created_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None


class WalletEnforcement(ApiModel):
    """A wallet's freeze state: `frozen` as last confirmed on chain, `chain_target` where it is going."""

    wallet: str
    customer_id: str
    frozen: bool
    chain_target: Literal["frozen", "unfrozen"]
    holds: list[Hold] = []


class Seizure(ApiModel):
    """A seizure of a frozen balance (R24): burned, then re-minted to `recovery_wallet`, once a second
    principal approves `approval_id` (R40)."""

    id: str
    wallet: str
    recovery_wallet: str
    amount: str
    legal_basis: str
    case_reference: str
    chain_case_id: str
    status: SeizureStatus
    reason: str | None = None
    requested_by: str
    approval_id: str | None = None
    approved_by: str | None = None
    burn_tx_hash: str | None = None
    remint_tx_hash: str | None = None
    audit_ref: int | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None


# --- travel rule (R25) ----------------------------------------------------------------------------


class TravelRuleParty(ApiModel):
    """Originator or beneficiary data: name, account (wallet or bank), and a postal address or an
    ID number. Also what `create_travel_rule_record` takes."""

    name: str | None = None
    account: str | None = None
    address: str | None = None
    id_number: str | None = None


class TravelRuleRecord(ApiModel):
    id: str
    kind: str
    """redemption, mint, seizure (the re-mint) or transfer."""
    subject_id: str | None = None
    tx_hash: str | None = None
    amount: str | None = None
    originator: TravelRuleParty
    beneficiary: TravelRuleParty
    full_data_required: bool
    complete: bool
    created_by: str
    created_at: datetime


class TravelRuleRequirements(ApiModel):
    amount: str
    profile: str
    threshold: str
    """From this amount the full data set is required (R25)."""
    full_data_required: bool
    required_fields: list[str]


# --- compliance report ----------------------------------------------------------------------------


class SlaBreach(ApiModel):
    redemption_id: str
    customer_id: str
    amount: str
    status: str
    deadline_at: datetime
    paid_at: datetime | None = None
    late_by_seconds: int


class SlaSection(ApiModel):
    deadline_business_days: int
    paid: int
    paid_on_time: int
    paid_late: list[SlaBreach]
    overdue: list[SlaBreach]
    fee_disclosure: str
    holiday_calendar: str | None = None
    """The calendar payout deadlines follow (R13)."""
    holiday_years: list[int] = []
    calendar_warnings: list[str] = []
    """Set when a deadline would fall in a year without holiday data (weekends only then)."""


class FlaggedTransfer(ApiModel):
    tx_hash: str
    block_number: int
    from_address: str
    to_address: str
    amount: str
    """tCNH, 6 decimals."""
    observed_at: datetime
    problem: str
    """missing (no record in the window) or late (recorded after it)."""
    recorded_at: datetime | None = None


class TravelRuleSection(ApiModel):
    threshold: str
    record_window_seconds: int
    transfers_at_or_above_threshold: int
    recorded: int
    awaiting_record: int
    flagged: list[FlaggedTransfer]


class ScreeningSection(ApiModel):
    list_version: str
    cases: dict[str, int]
    """Cases by status."""
    blocked_customers: list[str]


class FrozenWallet(ApiModel):
    wallet: str
    customer_id: str
    frozen_on_chain: bool
    holds: int


class SeizureLine(ApiModel):
    id: str
    wallet: str
    amount: str
    status: str
    legal_basis: str


class EnforcementSection(ApiModel):
    frozen_wallets: list[FrozenWallet]
    seizures: list[SeizureLine]


class AttestationSection(ApiModel):
    cadence: str
    """How often the profile wants an attestation report (R52, R60)."""
    last_attested_at: datetime | None = None
    next_due_at: datetime | None = None
    overdue: bool


class ComplianceReport(ApiModel):
    """SLA breaches, travel-rule gaps, screening, freezes, seizures and pending approvals
    (R13, R23-R25, R40)."""

    banner: str | None = None
    generated_at: datetime
    profile: str
    redemption_sla: SlaSection
    travel_rule: TravelRuleSection
    attestation: AttestationSection | None = None
    """Attestation cadence (R52, R53); None from a service that does not report it."""
    screening: ScreeningSection
    enforcement: EnforcementSection
    pending_approvals: dict[str, int]
    """Approval requests waiting, by action."""
