"""The reserve pool ledger (R1, R3) and treasury's reserve assets (R2–R6, R40).

Every movement happens under the pool's row lock, which is also what serialises concurrent mints'
R1 checks: two requests can never both see the same headroom.

Reserve assets: treasury records an asset with its first valuation, and may revalue it later; each
record counts only once the general approvals mechanism approved it (`reserve_asset.change` in the
approval policy: that many distinct principals of its roles, never the maker, R40), and every
valuation is kept (R5).
An approved valuation counts from the first block after its approval (`effective_block`), so an
attestation at an earlier block never changes (R53).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from compliance.approvals import check_second_approval
from compliance.money import format_fen
from compliance.profiles import RegimeProfile
from compliance.reserve_assets import AssetAssessment, ReserveAssetInput, assess_asset, concentration
from compliance.reserve_policy import required_reserve_fen, reserve_covers, reserve_surplus_fen
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.approvals.schemas import ApprovalDecisionIn, ApprovalRejectIn
from issuer_service.audit.service import append_audit, append_audit_now
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.indexer import repository as indexer_repository
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.reserves import repository
from issuer_service.reserves.models import ReserveAsset, ReserveAssetValuation, ReservePool
from issuer_service.reserves.schemas import (
    AssetCreate,
    AssetOut,
    CompositionItem,
    CustodianShareOut,
    ReservesOut,
    ValuationCreate,
    ValuationOut,
)

# The sandbox bank account that customer fiat moves into when a mint is accepted (R3): segregated,
# per token, never the issuer's own funds.
CUSTOMER_CASH_ASSET_ID = "customer-subscriptions"
CUSTOMER_CASH_CUSTODIAN = "Sandbox Bank HK"
CUSTOMER_CASH_ACCOUNT = "segregated tCNH reserve account (customer subscriptions)"
CHANGE_ACTION = "reserve_asset.change"  # the approval policy's action for recording or revaluing (R40)
VALUED_AT_MAX_FUTURE = timedelta(minutes=5)  # clock skew between treasury's systems and ours

# The same logger as the daily statement's alerts (issuer_service/reserves/statements.py).
alert_log = logging.getLogger("issuer_service.reserves.alerts")


def lock_pool(session: Session) -> ReservePool:
    return repository.lock_pool(session)


def read_pool(session: Session) -> ReservePool:
    """The pool as last committed, unlocked: a first look; decisions are taken again under `lock_pool`."""
    return repository.get_pool(session) or repository.lock_pool(session)


def today() -> date:
    return utc_now().date()


def asset_input(
    asset: ReserveAsset,
    account: str | None,
    *,
    market_value_fen: int | None = None,
    nominal_fen: int | None = None,
    valued_at: datetime | None = None,
) -> ReserveAssetInput:
    return ReserveAssetInput(
        asset_id=asset.id,
        kind=asset.kind,
        custodian=asset.custodian,
        account=account,
        currency=asset.currency,
        nominal_fen=asset.nominal_fen if nominal_fen is None else nominal_fen,
        market_value_fen=asset.market_value_fen if market_value_fen is None else market_value_fen,
        maturity=asset.maturity,
        valued_at=asset.valued_at if valued_at is None else valued_at,
    )


def customer_cash_input(cash_fen: int, valued_at: datetime) -> ReserveAssetInput:
    """The customer subscription account as a reserve asset: cash in CNH, valued when read."""
    return ReserveAssetInput(
        asset_id=CUSTOMER_CASH_ASSET_ID,
        kind="cash",
        custodian=CUSTOMER_CASH_CUSTODIAN,
        account=CUSTOMER_CASH_ACCOUNT,
        currency="CNH",
        nominal_fen=cash_fen,
        market_value_fen=cash_fen,
        maturity=None,
        valued_at=valued_at,
    )


def asset_backing_fen(asset: ReserveAsset, profile: RegimeProfile, *, as_of: date | None = None) -> int:
    """What an asset counts toward R1 today: eligible kinds and maturities only (R2), other currencies
    after their haircut or not at all (R4)."""
    return assess_asset(asset_input(asset, None), profile, as_of=as_of or today()).counted_fen


def assets_backing_fen(session: Session, profile: RegimeProfile) -> int:
    as_of = today()
    return sum(asset_backing_fen(a, profile, as_of=as_of) for a in repository.active_assets(session))


def reserve_value_fen(session: Session, pool: ReservePool, profile: RegimeProfile) -> int:
    """Reserves counted for R1: cash moved in for mints plus treasury's eligible assets."""
    return pool.cash_fen + assets_backing_fen(session, profile)


# ---------------------------------------------------------------- pool movements (caller holds the lock)
def mint_accepted(pool: ReservePool, amount_fen: int) -> None:
    """The customer's fiat moves into the reserve account; the mint counts as supply (R1)."""
    pool.cash_fen += amount_fen
    pool.in_flight_mint_fen += amount_fen
    pool.updated_at = utc_now()


def mint_confirmed(pool: ReservePool, amount_fen: int) -> None:
    pool.in_flight_mint_fen -= amount_fen
    pool.outstanding_fen += amount_fen
    pool.updated_at = utc_now()


def mint_failed(pool: ReservePool, amount_fen: int) -> None:
    """The fiat goes back to the customer's account."""
    pool.in_flight_mint_fen -= amount_fen
    pool.cash_fen -= amount_fen
    pool.updated_at = utc_now()


def burn_confirmed(pool: ReservePool, amount_fen: int) -> None:
    pool.outstanding_fen -= amount_fen
    pool.updated_at = utc_now()


def paid_out(pool: ReservePool, amount_fen: int, fee_fen: int) -> None:
    """R16: only after the burn. The payout and the fee both leave the pool; the fee goes to the
    issuer's own account, never back into reserves (R3)."""
    pool.cash_fen -= amount_fen
    pool.fees_fen += fee_fen
    pool.updated_at = utc_now()


# ---------------------------------------------------------------- treasury assets (R2–R5, R40)
def effective_block_from_now(session: Session, gateway: Any) -> int:
    """The first block an approval made now can count from: one past the chain head the service
    sees (the indexed block when the service runs without a chain)."""
    if gateway is not None:
        return int(gateway.head()) + 1
    cursor = indexer_repository.read_cursor(session)
    return cursor.last_block + 1 if cursor is not None else 0


def _valued_at(value: datetime | None, field: str) -> datetime:
    now = utc_now()
    if value is None:
        return now
    if value.astimezone(UTC) > now + VALUED_AT_MAX_FUTURE:
        raise ValidationFailed("valued_at is in the future; give the time the value was observed", field=field)
    return value.astimezone(UTC)


def _open_change(
    session: Session,
    *,
    subject_type: str,
    subject_id: str,
    payload: dict[str, object],
    summary: str,
    requester: Principal,
) -> ApprovalRequest:
    """The `reserve_asset.change` request for a recorded asset or valuation: the policy in force now
    fixes how many distinct approvers of which roles it needs (R40)."""
    return approvals.open_request(
        session,
        action=CHANGE_ACTION,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
        summary=summary,
        requester=requester,
    )


def _change_request(
    session: Session, *, subject_type: str, subject_id: str, requested_by: str, payload: dict[str, object]
) -> ApprovalRequest:
    """The pending request about an asset or valuation; one recorded before reserve changes went
    through the approvals mechanism gets it now, in its maker's name."""
    request = approvals.pending_for(session, action=CHANGE_ACTION, subject_type=subject_type, subject_id=subject_id)
    if request is not None:
        return request
    maker = Principal(id=requested_by, role="treasury", customer_id=None, label="reserve change maker")
    summary = f"{subject_type.replace('_', ' ')} {subject_id} recorded by {requested_by}"
    return _open_change(
        session, subject_type=subject_type, subject_id=subject_id, payload=payload, summary=summary, requester=maker
    )


def _approve_change(
    session: Session, request: ApprovalRequest, *, actor: Principal, context: approvals.ApprovalContext
) -> None:
    """One approval through the general mechanism (R40): it refuses the maker, a second vote by the
    same principal and a role the policy does not name, and counts the vote; the policy's last
    approval settles the asset or valuation (`_change_approved`), in this transaction."""
    approvals.approve(session, actor=actor, request_id=request.id, body=ApprovalDecisionIn(), context=context)


def _reject_change(session: Session, request: ApprovalRequest, *, actor: Principal, what: str) -> None:
    """A principal of a role the policy names declines: the record ends, whatever approvals it had
    (`_change_rejected`). The maker may not decline their own record here (they may withdraw it at
    POST /v1/approvals/{id}/reject)."""
    rule = approvals.policy().rule(CHANGE_ACTION)
    decision = check_second_approval(request.requested_by, actor.id, actor.role, rule.approver_roles)
    if not decision.allowed:  # R40
        raise Forbidden(decision.message, reason_code=decision.reason_code)
    approvals.reject(session, actor=actor, request_id=request.id, body=ApprovalRejectIn(note=f"declined: {what}"))


def record_asset(session: Session, *, actor: Principal, body: AssetCreate, profile: RegimeProfile) -> AssetOut:
    valued_at = _valued_at(body.valued_at, "body.valued_at")
    market_value = body.market_value if body.market_value is not None else body.nominal
    now = utc_now()
    asset = repository.add_asset(
        session,
        ReserveAsset(
            id=new_id("ast"),
            kind=body.kind,
            custodian=body.custodian,
            currency=body.currency,
            nominal_fen=body.nominal,
            market_value_fen=market_value,
            maturity=body.maturity,
            reference=body.reference,
            status="pending_approval",
            requested_by=actor.id,
            approved_by=None,
            note=None,
            valued_at=valued_at,
            created_at=now,
        ),
    )
    if body.account is not None:
        repository.add_custody(session, asset.id, body.account)
    repository.add_valuation(
        session,
        ReserveAssetValuation(
            id=new_id("val"),
            asset_id=asset.id,
            nominal_fen=body.nominal,
            market_value_fen=market_value,
            valued_at=valued_at,
            reference=body.reference,
            status="pending_approval",
            requested_by=actor.id,
            decided_by=None,
            decided_at=None,
            effective_block=None,
            decision_audit_seq=None,
            created_at=now,
        ),
    )
    append_audit(
        session,
        actor=actor.id,
        action="reserve_asset.recorded",
        entity_type="reserve_asset",
        entity_id=asset.id,
        data=_asset_data(asset, body.account),
        rule_ids=["R2", "R3", "R40"],
    )
    _open_change(
        session,
        subject_type="reserve_asset",
        subject_id=asset.id,
        payload={**_asset_data(asset, body.account), "valued_at": valued_at.isoformat()},
        summary=f"record {asset.kind} of {format_fen(asset.market_value_fen)} {asset.currency} at {asset.custodian}",
        requester=actor,
    )
    return _asset_out(asset, body.account, profile)


def _pending_asset(session: Session, asset_id: str, *, lock: bool = False) -> ReserveAsset:
    asset = repository.get_asset(session, asset_id, lock=lock)
    if asset is None:
        raise NotFound(f"no reserve asset {asset_id}")
    if asset.status != "pending_approval":
        raise Conflict(f"reserve asset {asset_id} is {asset.status}, not pending approval")
    return asset


def _asset_request(session: Session, asset_id: str) -> tuple[ReserveAsset, ApprovalRequest]:
    """A pending asset and its approval request, read without a lock: the request's lock, taken
    by the approvals mechanism before the asset's, orders everyone deciding on it."""
    asset = _pending_asset(session, asset_id)
    request = _change_request(
        session,
        subject_type="reserve_asset",
        subject_id=asset.id,
        requested_by=asset.requested_by,
        payload=_asset_data(asset, None),
    )
    return asset, request


def _decide_asset(
    session: Session, *, actor: Principal, asset_id: str, approve: bool, effective_block: int | None
) -> None:
    """The asset's approval request was approved or rejected: settle the asset and its first
    valuation (R2, R40)."""
    asset = _pending_asset(session, asset_id, lock=True)
    lock_pool(session)  # reserve value changes: serialise with mints' R1 checks
    status = "active" if approve else "rejected"
    asset.status, asset.approved_by = status, actor.id if approve else None
    account = repository.accounts_by_asset(session, [asset.id]).get(asset.id)
    record = append_audit_now(
        session,
        actor=actor.id,
        action=f"reserve_asset.{'approved' if approve else 'rejected'}",
        entity_type="reserve_asset",
        entity_id=asset.id,
        data={**_asset_data(asset, account), "effective_block": effective_block},
        rule_ids=["R2", "R40"],
    )
    for valuation in repository.pending_valuations(session, asset.id):
        _settle_valuation(valuation, actor=actor, status=status, effective_block=effective_block, audit_seq=record.seq)


def approve_asset(
    session: Session, *, actor: Principal, asset_id: str, profile: RegimeProfile, gateway: Any = None
) -> AssetOut:
    """One approval of a recorded asset; it counts once the policy's approvals are in (R40)."""
    asset, request = _asset_request(session, asset_id)
    _approve_change(session, request, actor=actor, context=approvals.ApprovalContext(profile=profile, gateway=gateway))
    return _asset_out(asset, repository.accounts_by_asset(session, [asset.id]).get(asset.id), profile)


def reject_asset(session: Session, *, actor: Principal, asset_id: str, profile: RegimeProfile) -> AssetOut:
    asset, request = _asset_request(session, asset_id)
    _reject_change(session, request, actor=actor, what=f"POST /v1/reserves/assets/{asset.id}/reject")
    return _asset_out(asset, repository.accounts_by_asset(session, [asset.id]).get(asset.id), profile)


def revalue_asset(session: Session, *, actor: Principal, asset_id: str, body: ValuationCreate) -> ValuationOut:
    """R5: a new market value; counts once a second principal approves it (R40)."""
    asset = repository.get_asset(session, asset_id, lock=True)
    if asset is None:
        raise NotFound(f"no reserve asset {asset_id}")
    if asset.status != "active":
        raise Conflict(f"reserve asset {asset_id} is {asset.status}; only an active asset can be revalued")
    if repository.pending_valuations(session, asset.id):
        raise Conflict(
            f"reserve asset {asset_id} already has a valuation waiting for approval; approve or reject it first"
        )
    valued_at = _valued_at(body.valued_at, "body.valued_at")
    if valued_at < asset.valued_at:  # R5: the newest observation is the asset's value, never an older one
        raise ValidationFailed(
            f"valued_at {valued_at.isoformat()} is older than the asset's current valuation "
            f"({asset.valued_at.isoformat()}); a revaluation must be as recent or newer",
            field="body.valued_at",
        )
    valuation = repository.add_valuation(
        session,
        ReserveAssetValuation(
            id=new_id("val"),
            asset_id=asset.id,
            nominal_fen=body.nominal if body.nominal is not None else asset.nominal_fen,
            market_value_fen=body.market_value,
            valued_at=valued_at,
            reference=body.reference,
            status="pending_approval",
            requested_by=actor.id,
            decided_by=None,
            decided_at=None,
            effective_block=None,
            decision_audit_seq=None,
            created_at=utc_now(),
        ),
    )
    append_audit(
        session,
        actor=actor.id,
        action="reserve_valuation.recorded",
        entity_type="reserve_valuation",
        entity_id=valuation.id,
        data=_valuation_data(valuation),
        rule_ids=["R5", "R40"],
    )
    _open_change(
        session,
        subject_type="reserve_valuation",
        subject_id=valuation.id,
        payload=_valuation_data(valuation),
        summary=f"revalue {asset.kind} at {asset.custodian} ({asset.id}) to "
        f"{format_fen(valuation.market_value_fen)} {asset.currency}",
        requester=actor,
    )
    return _valuation_out(valuation)


def _pending_valuation(
    session: Session, valuation_id: str, *, lock: bool = False
) -> tuple[ReserveAssetValuation, ReserveAsset]:
    valuation = repository.get_valuation(session, valuation_id, lock=lock)
    if valuation is None:
        raise NotFound(f"no reserve valuation {valuation_id}")
    if valuation.status != "pending_approval":
        raise Conflict(f"reserve valuation {valuation_id} is {valuation.status}, not pending approval")
    asset = repository.get_asset(session, valuation.asset_id, lock=lock)
    if asset is None or asset.status != "active":
        raise Conflict(f"the asset of valuation {valuation_id} is not active; decide on the asset itself")
    return valuation, asset


def _valuation_request(session: Session, valuation_id: str) -> tuple[ReserveAssetValuation, ApprovalRequest]:
    """A pending valuation and its approval request, read without a lock (as `_asset_request`)."""
    valuation, _ = _pending_valuation(session, valuation_id)
    request = _change_request(
        session,
        subject_type="reserve_valuation",
        subject_id=valuation.id,
        requested_by=valuation.requested_by,
        payload=_valuation_data(valuation),
    )
    return valuation, request


def approve_valuation(
    session: Session, *, actor: Principal, valuation_id: str, profile: RegimeProfile, gateway: Any = None
) -> ValuationOut:
    """One approval of a revaluation; it counts once the policy's approvals are in (R5, R40)."""
    valuation, request = _valuation_request(session, valuation_id)
    _approve_change(session, request, actor=actor, context=approvals.ApprovalContext(profile=profile, gateway=gateway))
    return _valuation_out(valuation)


def reject_valuation(session: Session, *, actor: Principal, valuation_id: str) -> ValuationOut:
    valuation, request = _valuation_request(session, valuation_id)
    _reject_change(session, request, actor=actor, what=f"POST /v1/reserves/valuations/{valuation.id}/reject")
    return _valuation_out(valuation)


def _decide_valuation(
    session: Session,
    *,
    actor: Principal,
    valuation_id: str,
    approve: bool,
    gateway: Any = None,
    profile: RegimeProfile | None = None,
) -> None:
    """The valuation's approval request was approved or rejected: settle it and, approved, make it
    the asset's value from the next block on (R5, R53)."""
    valuation, asset = _pending_valuation(session, valuation_id, lock=True)
    effective_block = effective_block_from_now(session, gateway) if approve else None
    lock_pool(session)  # reserve value changes: serialise with mints' R1 checks
    status = "active" if approve else "rejected"
    if approve:
        asset.market_value_fen, asset.nominal_fen, asset.valued_at = (
            valuation.market_value_fen,
            valuation.nominal_fen,
            valuation.valued_at,
        )
    valuation.status = status  # the audit record below shows the decision
    record = append_audit_now(
        session,
        actor=actor.id,
        action=f"reserve_valuation.{'approved' if approve else 'rejected'}",
        entity_type="reserve_valuation",
        entity_id=valuation.id,
        data={**_valuation_data(valuation), "effective_block": effective_block},
        rule_ids=["R5", "R40"],
    )
    _settle_valuation(valuation, actor=actor, status=status, effective_block=effective_block, audit_seq=record.seq)
    if approve and profile is not None:
        _alert_if_under_reserved(session, profile, actor=actor, cause=f"revaluation {valuation.id} of {asset.id}")


def _change_approved(
    session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext
) -> None:
    """The policy's last approval of a reserve change: the asset or valuation counts (R40)."""
    if request.subject_type == "reserve_asset":
        effective_block = effective_block_from_now(session, context.gateway)
        _decide_asset(session, actor=actor, asset_id=request.subject_id, approve=True, effective_block=effective_block)
    else:
        _decide_valuation(
            session,
            actor=actor,
            valuation_id=request.subject_id,
            approve=True,
            gateway=context.gateway,
            profile=context.profile,
        )


def _change_rejected(session: Session, request: ApprovalRequest, actor: Principal) -> None:
    if request.subject_type == "reserve_asset":
        _decide_asset(session, actor=actor, asset_id=request.subject_id, approve=False, effective_block=None)
    else:
        _decide_valuation(session, actor=actor, valuation_id=request.subject_id, approve=False)


approvals.register_executor(
    CHANGE_ACTION, approvals.Executor(on_approved=_change_approved, on_rejected=_change_rejected)
)


def _alert_if_under_reserved(session: Session, profile: RegimeProfile, *, actor: Principal, cause: str) -> None:
    """R1, R5: a write-down that leaves the reserves short of the supply and its buffer is alerted
    when it happens (the same `reserve_breach` event as the daily statement's, and an audit record),
    not at the next business day's statement. Mints are refused meanwhile: each re-checks R1."""
    pool = lock_pool(session)
    supply = pool.outstanding_fen + pool.in_flight_mint_fen
    reserves = sum(assessment.counted_fen for _, assessment in current_assessments(session, pool, profile))
    if reserve_covers(reserves, supply, profile.reserve_buffer_bps):
        return
    shortfall = required_reserve_fen(supply, profile.reserve_buffer_bps) - reserves
    data = {"cause": cause, "supply_fen": supply, "reserves_fen": reserves, "shortfall_fen": shortfall}
    append_audit_now(
        session,
        actor=actor.id,
        action="reserve.breach",
        entity_type="reserve_pool",
        entity_id=pool.id,
        data=data,
        rule_ids=["R1", "R5"],
    )
    alert_log.warning(
        "reserve breach after %s: reserves %s fen do not cover supply %s fen plus the buffer (shortfall %s fen); "
        "mints are refused until cured (R1, R5)",
        cause,
        reserves,
        supply,
        shortfall,
        extra={"fields": {"event": "reserve_breach", **data}},
    )


def _settle_valuation(
    valuation: ReserveAssetValuation, *, actor: Principal, status: str, effective_block: int | None, audit_seq: int
) -> None:
    valuation.status, valuation.decided_by, valuation.decided_at = status, actor.id, utc_now()
    valuation.effective_block, valuation.decision_audit_seq = effective_block, audit_seq


def list_assets(session: Session, *, profile: RegimeProfile, limit: int, cursor: str | None) -> Page[AssetOut]:
    rows = repository.list_assets(session, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda asset: asset.id)
    accounts = repository.accounts_by_asset(session, [asset.id for asset in page])
    return Page[AssetOut](items=[_asset_out(a, accounts.get(a.id), profile) for a in page], next_cursor=next_cursor)


def get_asset(session: Session, *, asset_id: str, profile: RegimeProfile) -> AssetOut:
    asset = repository.get_asset(session, asset_id)
    if asset is None:
        raise NotFound(f"no reserve asset {asset_id}")
    return _asset_out(asset, repository.accounts_by_asset(session, [asset.id]).get(asset.id), profile)


def list_valuations(session: Session, *, asset_id: str) -> list[ValuationOut]:
    if repository.get_asset(session, asset_id) is None:
        raise NotFound(f"no reserve asset {asset_id}")
    return [_valuation_out(v) for v in repository.valuations_of(session, asset_id)]


# ---------------------------------------------------------------- the public view (R52)
def current_assessments(
    session: Session, pool: ReservePool | None, profile: RegimeProfile
) -> list[tuple[ReserveAssetInput, AssetAssessment]]:
    """Every asset counted right now, the customer subscription account first, each assessed today."""
    as_of = today()
    assets = repository.active_assets(session)
    accounts = repository.accounts_by_asset(session, [a.id for a in assets])
    inputs = [customer_cash_input(pool.cash_fen if pool else 0, utc_now())]
    inputs += [asset_input(a, accounts.get(a.id)) for a in assets]
    return [(item, assess_asset(item, profile, as_of=as_of)) for item in inputs]


def public_view(session: Session, profile: RegimeProfile, chain: dict[str, object] | None) -> ReservesOut:
    pool = repository.get_pool(session)
    supply = (pool.outstanding_fen + pool.in_flight_mint_fen) if pool else 0
    assessed = current_assessments(session, pool, profile)
    reserves = sum(assessment.counted_fen for _, assessment in assessed)
    by_kind: dict[str, int] = {}
    for item, assessment in assessed:
        if assessment.counted_fen:
            by_kind[item.kind] = by_kind.get(item.kind, 0) + assessment.counted_fen
    shares = concentration(
        ((item.custodian, assessment.counted_fen) for item, assessment in assessed), profile.concentration_limit_bps
    )
    return ReservesOut(
        supply=supply,
        outstanding=pool.outstanding_fen if pool else 0,
        in_flight_mints=pool.in_flight_mint_fen if pool else 0,
        reserves=reserves,
        required_reserves=required_reserve_fen(supply, profile.reserve_buffer_bps),
        surplus=reserve_surplus_fen(reserves, supply, profile.reserve_buffer_bps),
        ratio=_ratio(reserves, supply),
        buffer_bps=profile.reserve_buffer_bps,
        fully_backed=reserves * 10_000 >= supply * (10_000 + profile.reserve_buffer_bps),
        last_valuation_at=_last_valuation_at(pool, [item for item, _ in assessed]),
        profile=profile.name,
        composition=[CompositionItem(kind=kind, counted=fen) for kind, fen in sorted(by_kind.items())],
        concentration=[
            CustodianShareOut(
                custodian=s.custodian, counted=s.counted_fen, share_bps=s.share_bps, over_limit=s.over_limit
            )
            for s in shares
            if s.counted_fen
        ],
        concentration_limit_bps=profile.concentration_limit_bps,
        chain=chain,
    )


def _last_valuation_at(pool: ReservePool | None, items: list[ReserveAssetInput]) -> datetime | None:
    """When the reserves were last valued: the pool's last cash movement (cash counts at par) or
    the newest approved valuation of a treasury asset, whichever is later (R5, R52)."""
    times = [item.valued_at for item in items if item.asset_id != CUSTOMER_CASH_ASSET_ID]
    if pool is not None:
        times.append(pool.updated_at)
    return max(times, default=None)


def _ratio(reserves: int, supply: int) -> str | None:
    """reserves / supply as a 4-decimal string, integer arithmetic only."""
    if supply == 0:
        return None
    scaled = reserves * 10_000 // supply
    return f"{scaled // 10_000}.{scaled % 10_000:04d}"


def _asset_data(asset: ReserveAsset, account: str | None) -> dict[str, object]:
    return {
        "kind": asset.kind,
        "custodian": asset.custodian,
        "account": account,
        "currency": asset.currency,
        "nominal_fen": asset.nominal_fen,
        "market_value_fen": asset.market_value_fen,
        "reference": asset.reference,
        "status": asset.status,
        "maturity": asset.maturity.isoformat() if asset.maturity else None,
    }


def _valuation_data(valuation: ReserveAssetValuation) -> dict[str, object]:
    return {
        "asset_id": valuation.asset_id,
        "nominal_fen": valuation.nominal_fen,
        "market_value_fen": valuation.market_value_fen,
        "valued_at": valuation.valued_at.isoformat(),
        "reference": valuation.reference,
        "status": valuation.status,
    }


def _asset_out(asset: ReserveAsset, account: str | None, profile: RegimeProfile) -> AssetOut:
    assessment = assess_asset(asset_input(asset, account), profile, as_of=today())
    return AssetOut(
        id=asset.id,
        kind=asset.kind,
        custodian=asset.custodian,
        account=account,
        currency=asset.currency,
        nominal=asset.nominal_fen,
        market_value=asset.market_value_fen,
        maturity=asset.maturity,
        valued_at=asset.valued_at,
        reference=asset.reference,
        status=asset.status,  # type: ignore[arg-type]  # the CHECK constraint keeps it to the three
        requested_by=asset.requested_by,
        approved_by=asset.approved_by,
        eligible=assessment.eligible,
        ineligibility_reason=assessment.reason,
        eligibility_detail=assessment.detail,
        haircut_bps=assessment.haircut_bps,
        counts_toward_backing=assessment.counted_fen,
        created_at=asset.created_at,
    )


def _valuation_out(valuation: ReserveAssetValuation) -> ValuationOut:
    return ValuationOut(
        id=valuation.id,
        asset_id=valuation.asset_id,
        nominal=valuation.nominal_fen,
        market_value=valuation.market_value_fen,
        valued_at=valuation.valued_at,
        reference=valuation.reference,
        status=valuation.status,  # type: ignore[arg-type]
        requested_by=valuation.requested_by,
        decided_by=valuation.decided_by,
        decided_at=valuation.decided_at,
        effective_block=valuation.effective_block,
        created_at=valuation.created_at,
    )
