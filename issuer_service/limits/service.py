"""Per-customer limit changes (R12, R40): requested by compliance or an operator, applied only when
a second principal approves through the general approvals. Mints and redemptions read the
override in their own transaction (`daily_mint_override`, `daily_redeem_override`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.calendar import start_of_business_day
from compliance.money import format_fen
from compliance.profiles import RISK_LEVELS, RegimeProfile
from issuer_service.approvals import repository as approval_repository
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.approvals.schemas import ApprovalOut
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customers
from issuer_service.errors import NotFound
from issuer_service.limits.models import CustomerLimitOverride
from issuer_service.limits.schemas import LimitChangeIn, LimitOut, LimitsOut
from issuer_service.mints import repository as mints
from issuer_service.redemptions import repository as redemptions

ACTION = "limit.change"


def _override(session: Session, customer_id: str) -> CustomerLimitOverride | None:
    return session.execute(
        select(CustomerLimitOverride).where(CustomerLimitOverride.customer_id == customer_id)
    ).scalar_one_or_none()


def daily_mint_override(session: Session, customer_id: str) -> int | None:
    row = _override(session, customer_id)
    return row.daily_mint_limit_fen if row is not None else None


def daily_redeem_override(session: Session, customer_id: str) -> int | None:
    row = _override(session, customer_id)
    return row.daily_redeem_limit_fen if row is not None else None


def request_change(session: Session, *, actor: Principal, customer_id: str, body: LimitChangeIn) -> ApprovalOut:
    customer = customers.get(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    payload = {
        "customer_id": customer_id,
        "daily_mint_limit_fen": body.daily_mint_limit,
        "daily_redeem_limit_fen": body.daily_redeem_limit,
        "reason": body.reason,
    }
    parts = [
        f"{name} {format_fen(value)}"
        for name, value in (("mint", body.daily_mint_limit), ("redeem", body.daily_redeem_limit))
        if value
    ]
    request = approvals.open_request(
        session,
        action=ACTION,
        subject_type="customer",
        subject_id=customer_id,
        payload=payload,
        requester=actor,
        summary=f"daily limits of {customer.name}: {', '.join(parts)} CNH",
    )
    return approvals.to_out(request, [])


def _apply(session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext) -> None:
    payload = approvals.payload_of(request)
    customer_id = str(payload["customer_id"])
    row = _override(session, customer_id)
    before = (row.daily_mint_limit_fen, row.daily_redeem_limit_fen) if row else (None, None)
    if row is None:
        row = CustomerLimitOverride(
            customer_id=customer_id,
            reason="",
            approval_id=request.id,
            requested_by=request.requested_by,
            approved_by=actor.id,
            updated_at=utc_now(),
        )
        session.add(row)
    if payload["daily_mint_limit_fen"] is not None:
        row.daily_mint_limit_fen = int(payload["daily_mint_limit_fen"])
    if payload["daily_redeem_limit_fen"] is not None:
        row.daily_redeem_limit_fen = int(payload["daily_redeem_limit_fen"])
    row.reason, row.approval_id = str(payload["reason"]), request.id
    row.requested_by, row.approved_by, row.updated_at = request.requested_by, actor.id, utc_now()
    append_audit(
        session,
        actor=actor.id,
        action="customer.limits_changed",
        entity_type="customer",
        entity_id=customer_id,
        data={
            "approval_id": request.id,
            "requested_by": request.requested_by,
            "approved_by": actor.id,
            "daily_mint_limit_fen_before": before[0],
            "daily_redeem_limit_fen_before": before[1],
            "daily_mint_limit_fen": row.daily_mint_limit_fen,
            "daily_redeem_limit_fen": row.daily_redeem_limit_fen,
            "reason": row.reason,
        },
        rule_ids=["R12", "R40"],
    )


approvals.register_executor(ACTION, approvals.Executor(on_approved=_apply))


def after_rerating(
    session: Session, *, actor: Principal, customer_id: str, before: str | None, after: str, profile: RegimeProfile
) -> None:
    """R12, R20: limits approved while the customer was rated lower do not survive a higher rating.
    An overridden limit above the new rating's profile limit goes and pending changes are withdrawn;
    the profile's limits for the new rating apply until a new change is approved for it. An
    overridden limit at or below the new rating's (a restriction) stays: a higher rating never
    loosens a customer's limits. A customer not yet rated ranks below every rating: a limit approved
    before KYC was approved without knowing the risk, so the first rating checks it too."""
    if after not in RISK_LEVELS:
        return
    rank_before = RISK_LEVELS.index(before) if before in RISK_LEVELS else -1
    if RISK_LEVELS.index(after) <= rank_before:
        return
    why = f"risk rating raised from {before} to {after}" if before in RISK_LEVELS else f"first risk rating {after}"
    for request in approval_repository.for_subject(
        session, "customer", customer_id, action=ACTION, statuses=("pending",)
    ):
        approvals.cancel(session, request, actor=actor.id, note=f"{why}: ask again under the new rating")
    row = _override(session, customer_id)
    if row is None:
        return
    kept_mint = _stricter(row.daily_mint_limit_fen, profile.daily_mint_limit_fen[after])
    kept_redeem = _stricter(row.daily_redeem_limit_fen, profile.daily_redeem_limit_fen[after])
    if (kept_mint, kept_redeem) == (row.daily_mint_limit_fen, row.daily_redeem_limit_fen):
        return
    append_audit(
        session,
        actor=actor.id,
        action="customer.limits_reset",
        entity_type="customer",
        entity_id=customer_id,
        data={
            "why": why,
            "approval_id": row.approval_id,
            "daily_mint_limit_fen_before": row.daily_mint_limit_fen,
            "daily_redeem_limit_fen_before": row.daily_redeem_limit_fen,
            "daily_mint_limit_fen": kept_mint,
            "daily_redeem_limit_fen": kept_redeem,
        },
        rule_ids=["R12", "R20"],
    )
    if kept_mint is None and kept_redeem is None:
        session.delete(row)
    else:
        row.daily_mint_limit_fen, row.daily_redeem_limit_fen, row.updated_at = kept_mint, kept_redeem, utc_now()


def _stricter(override_fen: int | None, profile_fen: int) -> int | None:
    """The override if it is no looser than the profile's limit for the rating, else none."""
    return override_fen if override_fen is not None and override_fen <= profile_fen else None


def get_limits(session: Session, *, customer_id: str, profile: RegimeProfile) -> LimitsOut:
    customer = customers.get(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    row = _override(session, customer_id)
    since = start_of_business_day(utc_now(), profile)
    risk = customer.risk or ""

    def limit(override: int | None, by_risk: int, used: int) -> LimitOut:
        if override is not None:
            return LimitOut(limit=override, source="override", used_today=used)
        return LimitOut(limit=by_risk, source="profile", used_today=used)

    pending = approval_repository.for_subject(session, "customer", customer_id, action=ACTION, statuses=("pending",))
    return LimitsOut(
        customer_id=customer_id,
        risk=customer.risk,
        profile=profile.name,
        mint=limit(
            row.daily_mint_limit_fen if row else None,
            profile.daily_mint_limit_fen.get(risk, 0),
            mints.minted_since(session, customer_id, since),
        ),
        redeem=limit(
            row.daily_redeem_limit_fen if row else None,
            profile.daily_redeem_limit_fen.get(risk, 0),
            redemptions.redeemed_since(session, customer_id, since),
        ),
        pending_change_ids=[r.id for r in pending],
    )
