"""Sanctions screening use cases (R20, R23).

- The list in force is the newest one loaded through the API, or the fictional list shipped in
  compliance/data/ until one is. Loading a list re-screens every customer (name) and every bound
  wallet (address) in the same transaction.
- A new hit opens a case, blocks the customer (`Customer.status = "blocked"`) and puts every one
  of the customer's wallets (for a name hit) or the listed wallet (for an address hit) on hold,
  which freezes it on chain through the outbox.
- A blocked customer cannot be approved by KYC, cannot bind wallets, mint or redeem. Clearing the
  case (a false positive) lifts its holds and unblocks the customer once no case is unresolved;
  confirming it keeps both, and compliance may go on to seize (R24).
- A hit at onboarding (customer creation, KYC approval) is the same: a case, a block.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.decision import Decision
from compliance.screening import (
    NAME_MATCH_THRESHOLD,
    ScreeningHit,
    ScreeningList,
    ScreeningListError,
    check_onboarding,
    parse_list,
    sandbox_list,
    screen_address,
    screen_name,
)
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customers
from issuer_service.customers.models import Customer
from issuer_service.enforcement import service as enforcement
from issuer_service.errors import Conflict, NotFound, RuleRejected, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.problems import problem_response
from issuer_service.screening import repository
from issuer_service.screening.models import ScreeningCase, ScreeningListVersion
from issuer_service.screening.schemas import (
    CaseDecisionIn,
    CaseOut,
    ListedPartyOut,
    ListLoadedOut,
    RescreenOut,
    ScreeningListIn,
    ScreeningListOut,
)
from issuer_service.wallets import repository as wallets
from issuer_service.wallets.models import Wallet


class SanctionsHit(RuleRejected):
    """R23: onboarding refused because of a screening hit. Raised inside the endpoint and turned into
    a response there (`problem()`), so the case and the block it recorded are committed."""

    def __init__(self, decision: Decision, case_ids: list[str]) -> None:
        super().__init__(decision.message, reason_code=decision.reason_code or "sanctions_hit", rule_id="R23")
        self.case_ids = case_ids

    def extensions(self) -> dict[str, object]:
        return {**super().extensions(), "case_ids": self.case_ids}

    def problem(self, instance: str) -> JSONResponse:
        return problem_response(
            status=self.status,
            type_slug=self.type_slug,
            title=self.title,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
            reason_code=self.reason_code,
            extensions=self.extensions(),
        )


# ---------------------------------------------------------------- the list in force
@lru_cache(maxsize=8)
def _parse_stored(body: str) -> ScreeningList:
    return parse_list(json.loads(body), source="screening_lists")


def current_list(session: Session) -> tuple[ScreeningList, ScreeningListVersion | None]:
    row = repository.latest_list(session)
    if row is None:
        return sandbox_list(), None
    return _parse_stored(row.body), row


def get_list(session: Session) -> ScreeningListOut:
    screening_list, row = current_list(session)
    return _list_out(screening_list, row)


def load_list(session: Session, *, actor: Principal, body: ScreeningListIn) -> ListLoadedOut:
    """R23: replace the list (kept as a new version, never overwritten) and re-screen everyone."""
    data = body.model_dump(exclude_none=True)
    try:
        parsed = parse_list(data, source="body")
    except ScreeningListError as exc:
        raise ValidationFailed(str(exc), field=f"body.{exc.field}" if exc.field else "body") from None
    row = ScreeningListVersion(
        id=new_id("scl"),
        version=parsed.version,
        source=parsed.source,
        sha256=parsed.sha256,
        body=json.dumps(parsed.as_data(), sort_keys=True),
        entry_count=len(parsed.entries),
        loaded_by=actor.id,
        loaded_at=utc_now(),
    )
    repository.add(session, row)
    append_audit(
        session,
        actor=actor.id,
        action="screening.list_loaded",
        entity_type="screening_list",
        entity_id=row.id,
        data={
            "version": parsed.version,
            "sha256": parsed.sha256,
            "entries": len(parsed.entries),
            "source": parsed.source,
        },
        rule_ids=["R23"],
    )
    summary = rescreen_all(session, actor=actor.id, screening_list=parsed)
    return ListLoadedOut(list=_list_out(parsed, row), rescreen=summary)


def rescreen(session: Session, *, actor: Principal) -> RescreenOut:
    screening_list, _ = current_list(session)
    return rescreen_all(session, actor=actor.id, screening_list=screening_list)


@dataclass
class _Outcome:
    cases: list[str] = field(default_factory=list)
    customers_blocked: list[str] = field(default_factory=list)
    wallets_frozen: list[str] = field(default_factory=list)


def rescreen_all(session: Session, *, actor: str, screening_list: ScreeningList) -> RescreenOut:
    """Every customer by name and every bound wallet by address; new hits open cases (R23)."""
    outcome = _Outcome()
    all_customers = list(session.execute(select(Customer).order_by(Customer.id)).scalars())
    by_id = {c.id: c for c in all_customers}
    for customer in all_customers:
        for hit in screen_name(customer.name, screening_list):
            _open_case(
                session,
                customer=customer,
                wallet=None,
                hit=hit,
                list_version=screening_list.version,
                actor=actor,
                outcome=outcome,
            )
    all_wallets = list(session.execute(select(Wallet).where(Wallet.status != "revoked").order_by(Wallet.id)).scalars())
    for wallet in all_wallets:
        for hit in screen_address(wallet.address, screening_list):
            _open_case(
                session,
                customer=by_id[wallet.customer_id],
                wallet=wallet,
                hit=hit,
                list_version=screening_list.version,
                actor=actor,
                outcome=outcome,
            )
    append_audit(
        session,
        actor=actor,
        action="screening.rescreened",
        entity_type="screening_list",
        entity_id=screening_list.version,
        data={"customers": len(all_customers), "wallets": len(all_wallets), "cases_opened": outcome.cases},
        rule_ids=["R23"],
    )
    return RescreenOut(
        list_version=screening_list.version,
        customers_screened=len(all_customers),
        wallets_screened=len(all_wallets),
        cases_opened=outcome.cases,
        customers_blocked=outcome.customers_blocked,
        wallets_frozen=outcome.wallets_frozen,
    )


def _open_case(
    session: Session,
    *,
    customer: Customer,
    wallet: Wallet | None,
    hit: ScreeningHit,
    list_version: str,
    actor: str,
    outcome: _Outcome,
) -> ScreeningCase | None:
    subject_type, subject_id = ("wallet", wallet.id) if wallet is not None else ("customer", customer.id)
    earlier = repository.cases_for_subject(session, subject_type, subject_id, hit.entry_id)
    if any(c.status in ("open", "confirmed") for c in earlier):
        return None  # already being handled
    if any(c.status == "cleared" and c.matched_value == hit.matched_value for c in earlier):
        return None  # a person already judged this very match a false positive
    case = ScreeningCase(
        id=new_id("scr"),
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer.id,
        list_version=list_version,
        entry_id=hit.entry_id,
        entry_name=hit.entry_name[:200],
        match_kind=hit.kind,
        matched_value=hit.matched_value[:200],
        screened_value=(wallet.address if wallet else customer.name)[:200],
        score=hit.score,
        status="open",
        opened_by=actor,
        opened_at=utc_now(),
    )
    repository.add(session, case)
    outcome.cases.append(case.id)
    append_audit(
        session,
        actor=actor,
        action="screening.case_opened",
        entity_type="screening_case",
        entity_id=case.id,
        data={
            "customer_id": customer.id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "entry_id": hit.entry_id,
            "entry_name": hit.entry_name,
            "match_kind": hit.kind,
            "matched_value": hit.matched_value,
            "score": hit.score,
            "list_version": list_version,
        },
        rule_ids=["R23"],
    )
    if customer.status != "blocked":
        customer.status = "blocked"
        outcome.customers_blocked.append(customer.id)
        append_audit(
            session,
            actor=actor,
            action="customer.blocked",
            entity_type="customer",
            entity_id=customer.id,
            data={"case_id": case.id},
            rule_ids=["R23"],
        )
    targets = (
        [wallet]
        if wallet is not None
        else [w for w in wallets.list_for_customer(session, customer.id) if w.status != "revoked"]
    )
    for target in targets:
        enforcement.hold_wallet(
            session,
            wallet=target,
            actor=actor,
            case_id=case.id,
            reason=f"sanctions screening hit: {hit.entry_name} ({hit.kind}, score {hit.score})",
        )
        outcome.wallets_frozen.append(target.address)
    return case


# ---------------------------------------------------------------- onboarding hooks
def screen_new_customer(session: Session, *, customer: Customer, actor: str) -> None:
    """R23 at onboarding: a hit on a new customer's name opens a case and blocks the customer."""
    screening_list, _ = current_list(session)
    for hit in screen_name(customer.name, screening_list):
        _open_case(
            session,
            customer=customer,
            wallet=None,
            hit=hit,
            list_version=screening_list.version,
            actor=actor,
            outcome=_Outcome(),
        )


def ensure_may_onboard(session: Session, *, customer: Customer, actor: str) -> None:
    """R23 before a KYC approval: screen again; any unresolved case refuses the approval with
    `SanctionsHit` (the caller turns it into a committed 422)."""
    screening_list, _ = current_list(session)
    hits = screen_name(customer.name, screening_list)
    for hit in hits:
        _open_case(
            session,
            customer=customer,
            wallet=None,
            hit=hit,
            list_version=screening_list.version,
            actor=actor,
            outcome=_Outcome(),
        )
    unresolved = repository.unresolved_for_customer(session, customer.id)
    decision = check_onboarding(
        [h for h in hits if any(c.entry_id == h.entry_id for c in unresolved)], open_cases=len(unresolved)
    )
    if not decision.allowed:
        case_ids = [c.id for c in unresolved]
        append_audit(
            session,
            actor=actor,
            action="customer.kyc_refused",
            entity_type="customer",
            entity_id=customer.id,
            data={"reason_code": decision.reason_code, "case_ids": case_ids},
            rule_ids=["R20", "R23"],
        )
        raise SanctionsHit(decision, case_ids)


def refuse_listed_address(session: Session, address: str) -> None:
    """R23: a listed wallet address is never bound."""
    screening_list, _ = current_list(session)
    hits = screen_address(address, screening_list)
    if hits:
        raise RuleRejected(
            f"wallet {address} is on the sanctions screening list ({hits[0].entry_name}); it cannot be bound",
            reason_code="sanctions_hit",
            rule_id="R23",
            field="body.address",
        )


# ---------------------------------------------------------------- cases
def _decide_case(session: Session, *, actor: Principal, case_id: str, body: CaseDecisionIn, to: str) -> ScreeningCase:
    """Record compliance's decision on an open case (locked, so two officers cannot both decide)."""
    case = repository.get_case(session, case_id, lock=True)
    if case is None:
        raise NotFound(f"no screening case {case_id}")
    if case.status != "open":
        raise Conflict(f"screening case {case_id} is {case.status}; only an open case can be decided")
    case.status, case.decided_by, case.decided_at, case.decision_note = to, actor.id, utc_now(), body.note
    append_audit(
        session,
        actor=actor.id,
        action=f"screening.case_{to}",
        entity_type="screening_case",
        entity_id=case.id,
        data={"customer_id": case.customer_id, "entry_id": case.entry_id, "note": body.note},
        rule_ids=["R23"],
    )
    return case


def clear_case(session: Session, *, actor: Principal, case_id: str, body: CaseDecisionIn) -> CaseOut:
    """A false positive: lift the case's holds; unblock the customer when nothing else is unresolved."""
    case = _decide_case(session, actor=actor, case_id=case_id, body=body, to="cleared")
    enforcement.release_case_holds(session, case_id=case.id, actor=actor.id, reason=f"screening case {case.id} cleared")
    customer = customers.lock(session, case.customer_id)
    if (
        customer is not None
        and customer.status == "blocked"
        and not repository.unresolved_for_customer(session, customer.id)
    ):
        customer.status = "active"
        append_audit(
            session,
            actor=actor.id,
            action="customer.unblocked",
            entity_type="customer",
            entity_id=customer.id,
            data={"case_id": case.id},
            rule_ids=["R23"],
        )
    return case_out(case)


def confirm_case(session: Session, *, actor: Principal, case_id: str, body: CaseDecisionIn) -> CaseOut:
    """A true match: the customer stays blocked and the wallets frozen (R23); seizure may follow (R24)."""
    return case_out(_decide_case(session, actor=actor, case_id=case_id, body=body, to="confirmed"))


def get_case(session: Session, case_id: str) -> CaseOut:
    case = repository.get_case(session, case_id)
    if case is None:
        raise NotFound(f"no screening case {case_id}")
    return case_out(case)


def list_cases(
    session: Session, *, status: str | None, customer_id: str | None, limit: int, cursor: str | None
) -> Page[CaseOut]:
    rows = repository.list_cases(
        session, status=status, customer_id=customer_id, after_id=decode_cursor(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, key=lambda c: c.id)
    return Page[CaseOut](items=[case_out(c) for c in page], next_cursor=next_cursor)


def case_out(case: ScreeningCase) -> CaseOut:
    return CaseOut(
        id=case.id,
        subject_type=case.subject_type,  # type: ignore[arg-type]
        subject_id=case.subject_id,
        customer_id=case.customer_id,
        screened_value=case.screened_value,
        list_version=case.list_version,
        entry_id=case.entry_id,
        entry_name=case.entry_name,
        match_kind=case.match_kind,  # type: ignore[arg-type]
        matched_value=case.matched_value,
        score=case.score,
        status=case.status,  # type: ignore[arg-type]
        opened_by=case.opened_by,
        opened_at=case.opened_at,
        decided_by=case.decided_by,
        decided_at=case.decided_at,
        decision_note=case.decision_note,
    )


def _list_out(screening_list: ScreeningList, row: ScreeningListVersion | None) -> ScreeningListOut:
    return ScreeningListOut(
        version=screening_list.version,
        source=screening_list.source,
        sha256=screening_list.sha256,
        shipped=row is None,
        loaded_by=row.loaded_by if row else None,
        loaded_at=row.loaded_at if row else None,
        name_match_threshold=NAME_MATCH_THRESHOLD,
        entries=[
            ListedPartyOut(
                id=e.id, name=e.name, aliases=list(e.aliases), addresses=sorted(e.addresses), program=e.program
            )
            for e in screening_list.entries
        ],
    )
