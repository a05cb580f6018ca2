"""Customer use cases: onboarding and KYC decisions (R20), each audited (R50)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.profiles import RegimeProfile
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal, ensure_customer_access
from issuer_service.clock import utc_now
from issuer_service.customers import repository
from issuer_service.customers.models import Customer, KycDecision
from issuer_service.customers.schemas import CustomerCreate, CustomerOut, KycDecisionCreate
from issuer_service.due_diligence import service as due_diligence
from issuer_service.errors import NotFound
from issuer_service.fiat_accounts.service import open_account
from issuer_service.ids import new_id
from issuer_service.limits import service as limits
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.screening import service as screening


def create_customer(session: Session, *, actor: Principal, body: CustomerCreate) -> CustomerOut:
    customer = repository.add(
        session,
        Customer(
            id=new_id("cus"),
            name=body.name,
            kind=body.kind,
            jurisdiction=body.jurisdiction,
            kyc_status="pending",
            risk=None,
            status="active",
            created_at=utc_now(),
            created_by=actor.id,
        ),
    )
    open_account(session, customer.id)
    append_audit(
        session,
        actor=actor.id,
        action="customer.created",
        entity_type="customer",
        entity_id=customer.id,
        data={"name": customer.name, "kind": customer.kind, "jurisdiction": customer.jurisdiction},
        rule_ids=["R20"],
    )
    screening.screen_new_customer(session, customer=customer, actor=actor.id)  # R23: a hit blocks onboarding
    return CustomerOut.model_validate(customer)


def get_customer(session: Session, *, principal: Principal, customer_id: str) -> CustomerOut:
    ensure_customer_access(principal, customer_id)
    customer = repository.get(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return CustomerOut.model_validate(customer)


def list_customers(session: Session, *, limit: int, cursor: str | None) -> Page[CustomerOut]:
    rows = repository.list_after(session, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda customer: customer.id)
    return Page[CustomerOut](items=[CustomerOut.model_validate(c) for c in page], next_cursor=next_cursor)


def decide_kyc(
    session: Session, *, actor: Principal, customer_id: str, body: KycDecisionCreate, profile: RegimeProfile
) -> CustomerOut:
    """Record a due-diligence decision (R20). Re-deciding is allowed; every decision is kept and
    audited. A high-risk approval is recorded as needing enhanced due diligence."""
    customer = repository.lock(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    due_diligence.check_rerating(session, actor=actor, customer=customer, risk=body.risk, decision=body.decision)
    if body.decision == "approved":  # R23: raises SanctionsHit, nothing below is recorded
        screening.ensure_may_onboard(session, customer=customer, actor=actor.id)
    previous_status, previous_risk = customer.kyc_status, customer.risk
    decision = repository.add_kyc_decision(
        session,
        KycDecision(
            id=new_id("kyc"),
            customer_id=customer.id,
            decision=body.decision,
            risk=body.risk,
            reference=body.reference,
            decided_by=actor.id,
            decided_at=utc_now(),
        ),
    )
    customer.kyc_status, customer.risk = body.decision, body.risk
    append_audit(
        session,
        actor=actor.id,
        action="customer.kyc_decided",
        entity_type="customer",
        entity_id=customer.id,
        data={
            "kyc_decision_id": decision.id,
            "decision": body.decision,
            "risk": body.risk,
            "reference": body.reference,
            "previous_status": previous_status,
            "enhanced_due_diligence_required": body.risk == "high",
        },
        rule_ids=["R20"],
    )
    due_diligence.after_kyc_decision(session, actor=actor, customer=customer, decision=decision)  # R20: EDD
    limits.after_rerating(  # R12
        session, actor=actor, customer_id=customer.id, before=previous_risk, after=body.risk, profile=profile
    )
    return CustomerOut.model_validate(customer)
