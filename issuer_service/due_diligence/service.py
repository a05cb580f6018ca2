"""Enhanced due diligence (R20, R40): a KYC approval at high risk opens a `customer.edd` approval
request; a second compliance officer approves it citing the EDD evidence. Until then mints and
redemptions are refused with `enhanced_due_diligence_pending` (compliance.eligibility)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from issuer_service.approvals import repository as approval_repository
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.customers import repository as customers
from issuer_service.customers.models import Customer, KycDecision
from issuer_service.due_diligence.schemas import DueDiligenceOut
from issuer_service.errors import Forbidden, NotFound
from issuer_service.screening import repository as screening

ACTION = "customer.edd"


def _latest_edd(session: Session, customer_id: str) -> ApprovalRequest | None:
    found = approval_repository.for_subject(session, "customer", customer_id, action=ACTION)
    return found[0] if found else None


def edd_status(session: Session, customer: Customer) -> tuple[str, ApprovalRequest | None]:
    if customer.risk != "high" or customer.kyc_status != "approved":
        return "not_required", None
    latest = _latest_edd(session, customer.id)
    return ("completed" if latest is not None and latest.status == "approved" else "pending"), latest


def edd_pending(session: Session, customer: Customer) -> bool:
    """R20: a high-risk, KYC-approved customer whose latest EDD request is not approved."""
    return edd_status(session, customer)[0] == "pending"


def check_rerating(session: Session, *, actor: Principal, customer: Customer, risk: str, decision: str) -> None:
    """R20, R40: the officer who rated a customer high risk cannot lower the rating alone while no
    second officer has recorded its enhanced due diligence; that would cancel the EDD with no second
    officer involved. Rejecting the customer in between changes nothing: it is the same officer's
    rating being undone. Another officer may re-rate (after that, anyone may), or record the EDD;
    rejecting the customer is always possible."""
    if decision != "approved" or risk == "high":
        return
    for earlier in customers.kyc_decisions(session, customer.id):
        if earlier.decided_by != actor.id:
            return  # another officer decided since: this is no longer one officer undoing their own rating
        if earlier.decision == "approved" and earlier.risk == "high":
            if _edd_recorded(session, customer.id, earlier.id):
                return
            raise Forbidden(
                "you rated this customer high risk and no second officer has recorded its enhanced due "
                "diligence: lowering the rating needs a second compliance officer (R20, R40); ask another "
                "officer to re-rate or record the EDD",
                reason_code="same_principal",
                field="body.risk",
            )


def _edd_recorded(session: Session, customer_id: str, kyc_decision_id: str) -> bool:
    """Has a second officer approved the EDD opened by this high-risk KYC approval?"""
    return any(
        request.status == "approved" and approvals.payload_of(request).get("kyc_decision_id") == kyc_decision_id
        for request in approval_repository.for_subject(session, "customer", customer_id, action=ACTION)
    )


def after_kyc_decision(session: Session, *, actor: Principal, customer: Customer, decision: KycDecision) -> None:
    """Every KYC decision supersedes earlier EDD requests; a high-risk approval opens a new one."""
    for request in approval_repository.for_subject(
        session, "customer", customer.id, action=ACTION, statuses=("pending",)
    ):
        approvals.cancel(session, request, actor=actor.id, note=f"superseded by KYC decision {decision.id}")
    if decision.decision == "approved" and decision.risk == "high":
        approvals.open_request(
            session,
            action=ACTION,
            subject_type="customer",
            subject_id=customer.id,
            payload={"customer_id": customer.id, "kyc_decision_id": decision.id, "kyc_reference": decision.reference},
            summary=f"enhanced due diligence of high-risk customer {customer.name}",
            requester=actor,
        )


def _completed(
    session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext
) -> None:
    append_audit(
        session,
        actor=actor.id,
        action="customer.edd_completed",
        entity_type="customer",
        entity_id=request.subject_id,
        data={
            "approval_id": request.id,
            "kyc_decision_id": approvals.payload_of(request)["kyc_decision_id"],
            "kyc_approved_by": request.requested_by,
            "edd_recorded_by": actor.id,
            "reference": context.reference,
            "note": context.note,
        },
        rule_ids=["R20", "R40"],
    )


approvals.register_executor(ACTION, approvals.Executor(on_approved=_completed))


def due_diligence(session: Session, *, customer_id: str) -> DueDiligenceOut:
    customer = customers.get(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    status, request = edd_status(session, customer)
    reference = None
    if request is not None and request.status == "approved":
        votes = approval_repository.votes(session, request.id)
        reference = votes[-1].reference if votes else None
    unresolved = [c.id for c in screening.unresolved_for_customer(session, customer.id)]
    return DueDiligenceOut(
        customer_id=customer.id,
        kyc_status=customer.kyc_status,
        risk=customer.risk,
        status=customer.status,
        enhanced_due_diligence=status,  # type: ignore[arg-type]
        edd_approval_id=request.id if request is not None else None,
        edd_reference=reference,
        unresolved_screening_cases=unresolved,
        may_transact=customer.kyc_status == "approved" and customer.status == "active" and status != "pending",
    )
