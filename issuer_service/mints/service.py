"""Minting: accept against confirmed fiat under the reserve lock, then let the outbox mint on chain.

Every status change goes through `_transition`, which checks the edge and writes the audit record
in the same transaction (R50). A mint at or above the profile's threshold waits for the general
approvals mechanism (`mint.large` in the approval policy, R12, R40): the customer is the maker, and
as many distinct principals of the policy's roles as it requires approve it, through
POST /v1/mints/{id}/approve or POST /v1/approvals/{id}/approve alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from compliance import decision as codes
from compliance.calendar import start_of_business_day
from compliance.decision import Decision
from compliance.eligibility import check_customer_and_wallet
from compliance.mint_rules import MintContext, check_daily_mint_limit, check_mint
from compliance.money import fen_to_units, format_fen
from compliance.profiles import RegimeProfile
from compliance.reserve_policy import reserve_covers
from issuer_service.addresses import parse_address
from issuer_service.admin.service import is_paused
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.approvals.schemas import ApprovalDecisionIn, ApprovalRejectIn
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customers
from issuer_service.customers.models import Customer
from issuer_service.db import at_commit, once_per_transaction, remember_for_transaction
from issuer_service.due_diligence import service as due_diligence
from issuer_service.enforcement.service import frozen_or_freezing
from issuer_service.errors import Conflict, Forbidden, NotFound, RuleRejected
from issuer_service.fiat_accounts import service as fiat
from issuer_service.ids import new_id
from issuer_service.lifecycle import Lifecycle
from issuer_service.limits import service as limits
from issuer_service.mints import repository
from issuer_service.mints.models import Mint
from issuer_service.mints.schemas import MintCreate, MintOut
from issuer_service.outbox import repository as outbox
from issuer_service.outbox.handlers import WORKER, OutboxHandler, register
from issuer_service.outbox.models import ChainTx
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.reserves import service as reserves
from issuer_service.travel_rule import service as travel_rule
from issuer_service.wallets import repository as wallets
from issuer_service.wallets.models import Wallet
from issuer_service.webhooks import service as webhooks

_EDGES = {
    "requested": {"pending_approval", "approved", "rejected"},
    "pending_approval": {"approved", "rejected"},
    "approved": {"submitted", "failed"},
    "submitted": {"confirmed", "failed"},
}
_RULES_BY_STATUS: dict[str, list[str]] = {
    "pending_approval": ["R12", "R40"],
    "approved": ["R1", "R10", "R11", "R12"],
    "submitted": ["R1"],
    "confirmed": ["R1", "R10", "R16"],
    "rejected": ["R40"],
    "failed": ["R10"],
}
MINT_LIFECYCLE = Lifecycle("mint", _EDGES, _RULES_BY_STATUS)
LARGE_MINT = "mint.large"  # the approval policy's action for a mint at or above the threshold


def _transition(
    session: Session,
    mint: Mint,
    to: str,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
    data_at_commit: Callable[[], Mapping[str, Any]] | None = None,
) -> None:
    """The only way a mint changes status (R50)."""
    MINT_LIFECYCLE.move(
        session,
        mint,
        to,
        actor=actor,
        data={
            "customer_id": mint.customer_id,
            "wallet": mint.wallet_address,
            "amount_fen": mint.amount_fen,
            **(data or {}),
        },
        data_at_commit=data_at_commit,
    )
    webhooks.emit(session, mint.customer_id, f"mint.{to}", lambda: to_out(mint).model_dump(mode="json"))


def create_mint(session: Session, *, actor: Principal, body: MintCreate, profile: RegimeProfile) -> MintOut:
    """Accept a mint: the rules decide on a first, lock-free read (most refusals end there) and the
    mint, its outbox row, audit records and status are written. The money moves at commit
    (`_settle`): the reserve pool and the customer's fiat account are locked, the figures that
    concurrent requests change are read again and the rules re-run on them. The pool lock is
    global, so it is held for the last statements of the transaction only, not the whole request;
    a refusal there rolls everything back, as a refusal here does."""
    if actor.customer_id is None:
        raise Forbidden("mints are requested with a customer key")
    address = parse_address(body.wallet, field="body.wallet")
    amount = body.amount
    # Held (share-locked) to the commit, like the pause flag below: a KYC decision, a screening
    # block or a pause that commits while this request runs waits for it or is seen by it (R20, R41).
    customer = customers.get_held(session, actor.customer_id)
    if customer is None:
        raise NotFound(f"customer {actor.customer_id} not found")
    wallet = wallets.get_held_by_address(session, address)  # held like the customer: a freeze waits (R24)
    pool, account = reserves.read_pool(session), fiat.get_account(session, customer.id)
    context = MintContext(
        amount_fen=amount,
        customer_available_fen=account.available_fen,
        paused=is_paused(session, hold=True),
        reserve_pool_fen=reserves.reserve_value_fen(session, pool, profile),
        outstanding_supply_fen=pool.outstanding_fen + pool.in_flight_mint_fen,
        minted_today_fen=repository.minted_since(session, customer.id, start_of_business_day(utc_now(), profile)),
        global_issued_fen=pool.outstanding_fen + pool.in_flight_mint_fen,
        daily_limit_fen=limits.daily_mint_override(session, customer.id),  # R12: approved limit change
        **_eligibility_facts(session, customer, wallet),
    )
    first = _decided(context, profile)
    assert wallet is not None  # an unknown wallet was refused above
    now = utc_now()
    mint = Mint(
        id=new_id("mnt"),
        customer_id=customer.id,
        wallet_id=wallet.id,
        wallet_address=wallet.address,
        amount_fen=amount,
        status="requested",
        requested_by=actor.id,
        created_at=now,
        updated_at=now,
        # Known before the first INSERT, so the row is not updated with it (its outbox row follows).
        chain_tx_id=None if first.needs_second_approval else outbox.new_tx_id(),
    )
    session.add(mint)
    append_audit(
        session,
        actor=actor.id,
        action="mint.requested",
        entity_type="mint",
        entity_id=mint.id,
        data={"customer_id": customer.id, "wallet": wallet.address, "amount_fen": amount},
        rule_ids=["R1", "R10", "R11"],
    )
    after: dict[str, int] = {}  # the balances _settle leaves, for the status change's audit record
    at_commit(session, lambda: after.update(_settle(session, mint, context, profile)))
    # The status is final before the row is first written (one INSERT, no UPDATE): the amount and
    # the profile decide whether a second approver is needed, not the figures _settle locks.
    if first.needs_second_approval:
        _transition(
            session,
            mint,
            "pending_approval",
            actor=actor.id,
            data={"threshold_fen": profile.mint_approval_threshold_fen},
            data_at_commit=lambda: after,
        )
        _open_approval(session, mint, requester=actor)  # R40: after the status, so the row is written once
    else:
        _transition(session, mint, "approved", actor=actor.id, data_at_commit=lambda: after)
        _enqueue(session, mint)
    travel_rule.record_mint(
        session,
        mint_id=mint.id,
        wallet=wallet.address,
        amount_fen=amount,
        customer=customer,
        profile=profile,
        actor=actor.id,
    )  # R25: the data is on file for the issuer's own mint
    return to_out(mint)


def _settle(session: Session, mint: Mint, context: MintContext, profile: RegimeProfile) -> dict[str, int]:
    """At commit: lock the reserve pool, then the customer's fiat account (the lock order
    everywhere), re-run the rules on the figures as the previous holder of the locks committed them
    and move the money. Under both locks the R1 check and the reservation are atomic across
    concurrent requests and processes (R1, R10, R12)."""
    amount = mint.amount_fen
    pool = reserves.lock_pool(session)
    account = fiat.lock_account(session, mint.customer_id)
    _decided(
        replace(
            context,
            customer_available_fen=account.available_fen,
            reserve_pool_fen=reserves.reserve_value_fen(session, pool, profile),
            outstanding_supply_fen=pool.outstanding_fen + pool.in_flight_mint_fen,
            global_issued_fen=pool.outstanding_fen + pool.in_flight_mint_fen,
            minted_today_fen=repository.minted_since(
                session, mint.customer_id, start_of_business_day(utc_now(), profile), excluding=mint.id
            ),
        ),
        profile,
    )
    fiat.allocate(account, amount)  # R10: available → reserved
    reserves.mint_accepted(pool, amount)  # the fiat moves into the reserve account (R1, R3)
    return {"available_fen_after": account.available_fen, "reserve_cash_fen_after": pool.cash_fen}


def _decided(context: MintContext, profile: RegimeProfile) -> Decision:
    """The rules' decision, or the refusal as a problem naming the field to fix. Nothing was
    changed yet: the request's transaction rolls back with the error."""
    decision = check_mint(context, profile)
    if not decision.allowed:
        raise RuleRejected(
            decision.message,
            reason_code=decision.reason_code or "rejected",
            rule_id=decision.rule_id or "",
            field="body.amount"
            if decision.reason_code in _AMOUNT_CODES
            else "body.wallet"
            if decision.reason_code in _WALLET_CODES
            else None,
        )
    return decision


_AMOUNT_CODES = {
    "insufficient_fiat",
    "reserve_insufficient",
    "over_single_mint_limit",
    "over_daily_limit",
    "over_global_cap",
}
_WALLET_CODES = {"wallet_not_owned", "wallet_not_allowlisted", "wallet_frozen"}


def _approve(session: Session, mint: Mint, *, actor: str, data: dict[str, Any] | None = None) -> None:
    _transition(session, mint, "approved", actor=actor, data=data)
    _enqueue(session, mint)


def _enqueue(session: Session, mint: Mint) -> None:
    """The on-chain mint, sent by the outbox worker once this transaction commits."""
    if mint.chain_tx_id is None:  # a new mint has it already (create_mint), an approved one not yet
        mint.chain_tx_id = outbox.new_tx_id()
    outbox.enqueue(
        session,
        function="mint",
        args=[mint.wallet_address, fen_to_units(mint.amount_fen)],
        entity_type="mint",
        entity_id=mint.id,
        row_id=mint.chain_tx_id,
    )


def _open_approval(session: Session, mint: Mint, *, requester: Principal) -> ApprovalRequest:
    """The `mint.large` approval request: the policy in force now fixes how many distinct
    principals of which roles must approve (R40); the customer who asked is the maker."""
    return approvals.open_request(
        session,
        action=LARGE_MINT,
        subject_type="mint",
        subject_id=mint.id,
        payload={"customer_id": mint.customer_id, "wallet": mint.wallet_address, "amount_fen": mint.amount_fen},
        summary=f"mint of {format_fen(mint.amount_fen)} CNH to {mint.wallet_address}",
        requester=requester,
    )


def _approval_of(session: Session, mint_id: str, verb: str) -> tuple[Mint, ApprovalRequest]:
    """A mint pending approval and its pending request. Read without a lock: the request's lock,
    taken by the approvals mechanism before the mint's, orders everyone deciding on it."""
    mint = repository.get(session, mint_id)
    if mint is None:
        raise NotFound(f"no mint {mint_id}")
    if mint.status != "pending_approval":
        raise Conflict(f"mint {mint_id} is {mint.status}; only a mint pending approval can be {verb}")
    request = approvals.pending_for(session, action=LARGE_MINT, subject_type="mint", subject_id=mint.id)
    if request is None:  # a mint requested before large mints went through the approvals mechanism
        maker = Principal(id=mint.requested_by, role="customer", customer_id=mint.customer_id, label="mint requester")
        request = _open_approval(session, mint, requester=maker)
    return mint, request


def approve_mint(session: Session, *, actor: Principal, mint_id: str, profile: RegimeProfile) -> MintOut:
    """One approval of a large mint (R12, R40): the general mechanism refuses the maker, a principal
    who already approved and a role the policy does not name, and counts the vote; the last vote
    the policy requires approves the mint (`_large_mint_approved`), in this transaction."""
    mint, request = _approval_of(session, mint_id, "approved")
    context = approvals.ApprovalContext(profile=profile)
    approvals.approve(session, actor=actor, request_id=request.id, body=ApprovalDecisionIn(), context=context)
    return to_out(mint)


def _large_mint_approved(
    session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext
) -> None:
    """The policy's last approval: the mint is checked again as at its request (R41, R11, R20, R22,
    R1) and sent. A refusal rolls the approval back with it; the mint stays pending, fiat reserved."""
    mint = repository.get(session, request.subject_id, lock=True)
    if mint is None or mint.status != "pending_approval":
        raise Conflict(f"mint {request.subject_id} is no longer pending approval")
    if is_paused(session, hold=True):
        raise RuleRejected("the service is paused; approve after it resumes", reason_code="paused", rule_id="R41")
    _still_eligible(session, mint)
    _still_within_daily_limit(session, mint, context.profile)
    _still_backed(session, context.profile)
    mint.approved_by = actor.id
    _approve(session, mint, actor=actor.id, data={"approved_by": actor.id, "approval_id": request.id})


def _large_mint_rejected(session: Session, request: ApprovalRequest, actor: Principal) -> None:
    """An eligible principal declined the mint: it ends, whatever approvals it had, and the fiat it
    held goes back (R10, R40)."""
    mint = repository.get(session, request.subject_id, lock=True)
    if mint is None or mint.status != "pending_approval":
        raise Conflict(f"mint {request.subject_id} is no longer pending approval")
    _release(session, mint)
    mint.reason_code, mint.reason = "declined_by_approver", f"declined by {actor.id}"
    _transition(
        session, mint, "rejected", actor=actor.id, data={"reason_code": mint.reason_code, "approval_id": request.id}
    )


approvals.register_executor(
    LARGE_MINT, approvals.Executor(on_approved=_large_mint_approved, on_rejected=_large_mint_rejected)
)


def _still_backed(session: Session, profile: RegimeProfile) -> None:
    """R1 again at approval: the mint's amount was reserved when it was requested, but reserves may
    have been written down since. Approved now, it would wait at the worker's on-chain gate with no
    way back (only a pending mint can be rejected); refused, it stays pending and can be."""
    pool = reserves.read_pool(session)
    supply = pool.outstanding_fen + pool.in_flight_mint_fen  # this mint included
    reserve = reserves.reserve_value_fen(session, pool, profile)
    if not reserve_covers(reserve, supply, profile.reserve_buffer_bps):
        raise RuleRejected(
            f"reserves of {format_fen(reserve)} CNH no longer cover the supply of {format_fen(supply)} CNH with its "
            f"buffer of {profile.reserve_buffer_bps} basis points; the mint stays pending approval with its fiat "
            "reserved: approve it once reserves are added, or reject it to release the fiat",
            reason_code=codes.RESERVE_INSUFFICIENT,
            rule_id="R1",
        )


def _still_within_daily_limit(session: Session, mint: Mint, profile: RegimeProfile) -> None:
    """R12 again at approval, under the limit in force now: a customer rated higher risk since the
    request (or whose limit change was undone) must not be carried past the new rating's daily limit
    by a mint asked for under the old one. Counted as at the request: the mints of its business day
    asked before it."""
    customer = customers.get_held(session, mint.customer_id)
    assert customer is not None  # a mint's customer is never deleted
    day = start_of_business_day(mint.created_at, profile)
    refusal = check_daily_mint_limit(
        mint.amount_fen,
        minted_today_fen=repository.minted_since(
            session, mint.customer_id, day, excluding=mint.id, until=mint.created_at
        ),
        customer_risk=customer.risk,
        daily_limit_fen=limits.daily_mint_override(session, mint.customer_id),
        profile=profile,
        fix="the mint stays pending approval with its fiat reserved: approve it once a limit change for the "
        "customer's rating is approved, or reject it to release the fiat",
    )
    if refusal is not None:
        raise RuleRejected(
            refusal.message,
            reason_code=refusal.reason_code or "rejected",
            rule_id=refusal.rule_id or "",
        )


def _eligibility_facts(session: Session, customer: Customer, wallet: Wallet | None) -> dict[str, Any]:
    """What R11, R20 and R22 decide on about the customer and the wallet, as `MintContext` and
    `check_customer_and_wallet` name them: read the same way at the request and at the approval."""
    return {
        "customer_kyc_status": customer.kyc_status,
        "customer_risk": customer.risk,
        "customer_active": customer.status == "active",
        "wallet_owned_by_customer": wallet is not None and wallet.customer_id == customer.id,
        "wallet_status": wallet.status if wallet else "unknown",
        "wallet_frozen": wallet is not None and frozen_or_freezing(session, wallet),  # R24
        "enhanced_due_diligence_pending": due_diligence.edd_pending(session, customer),  # R20
    }


def _still_eligible(session: Session, mint: Mint) -> None:
    """R11, R20, R22 again at approval: the customer or wallet may have changed since the request
    (KYC rejected, rated high risk, blocked by screening, wallet frozen or revoked). The mint then
    stays pending and its fiat reserved: approve it once that is resolved, or reject it."""
    customer = customers.get_held(session, mint.customer_id)
    assert customer is not None  # a mint's customer is never deleted
    wallet = wallets.get_held_by_address(session, mint.wallet_address)
    refusal = check_customer_and_wallet(
        action="mint",
        paused=False,  # checked above, with the flag held
        **_eligibility_facts(session, customer, wallet),
    )
    if refusal is not None:
        raise RuleRejected(
            f"{refusal.message}; the mint stays pending approval with its fiat reserved: approve it once this "
            "is resolved, or reject it to release the fiat",
            reason_code=refusal.reason_code or "rejected",
            rule_id=refusal.rule_id or "",
        )


def reject_mint(session: Session, *, actor: Principal, mint_id: str) -> MintOut:
    """A principal of a role the policy names declines a mint waiting for approval; the fiat goes
    back (R40, `_large_mint_rejected`)."""
    mint, request = _approval_of(session, mint_id, "rejected")
    body = ApprovalRejectIn(note=f"declined through POST /v1/mints/{mint.id}/reject")
    approvals.reject(session, actor=actor, request_id=request.id, body=body)
    return to_out(mint)


def _release(session: Session, mint: Mint) -> None:
    pool = reserves.lock_pool(session)
    fiat.release(session, mint.customer_id, mint.amount_fen)
    reserves.mint_failed(pool, mint.amount_fen)


def get_mint(session: Session, *, principal: Principal, mint_id: str) -> MintOut:
    mint = repository.get(session, mint_id)
    if mint is None or (principal.role == "customer" and mint.customer_id != principal.customer_id):
        raise NotFound(f"no mint {mint_id}")  # another customer's mint does not exist for you
    return to_out(mint)


def list_mints(session: Session, *, principal: Principal, limit: int, cursor: str | None) -> Page[MintOut]:
    customer_id = principal.customer_id if principal.role == "customer" else None
    rows = repository.list_for(session, customer_id=customer_id, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda m: m.id)
    return Page[MintOut](items=[to_out(m) for m in page], next_cursor=next_cursor)


def to_out(mint: Mint) -> MintOut:
    return MintOut(
        id=mint.id,
        customer_id=mint.customer_id,
        wallet=mint.wallet_address,
        amount=mint.amount_fen,
        status=mint.status,
        reason_code=mint.reason_code,
        reason=mint.reason,
        requested_by=mint.requested_by,
        approved_by=mint.approved_by,
        tx_hash=mint.tx_hash,
        block_number=mint.block_number,
        audit_ref=mint.last_audit_seq,
        created_at=mint.created_at,
        updated_at=mint.updated_at,
    )


# ---------------------------------------------------------------- outbox callbacks (worker transaction)
def _lock_batch(session: Session, rows: Sequence[ChainTx]) -> None:
    """A worker batch: its mints locked, and their customers' webhook subscriptions read, in one
    query each rather than one per mint."""
    mints = repository.lock_many(session, [row.entity_id for row in rows])
    for mint in mints:
        remember_for_transaction(session, ("mint", mint.id), mint)
    webhooks.read_subscriptions_for(session, [mint.customer_id for mint in mints])


def _locked(session: Session, row: ChainTx) -> Mint:
    mint = once_per_transaction(
        session, ("mint", row.entity_id), lambda: repository.get(session, row.entity_id, lock=True)
    )
    if mint is None:  # pragma: no cover - the outbox row was written with the mint
        raise RuntimeError(f"outbox row {row.id} refers to missing mint {row.entity_id}")
    return mint


def _on_submitted(session: Session, row: ChainTx) -> None:
    mint = _locked(session, row)
    mint.tx_hash = row.tx_hash
    _transition(session, mint, "submitted", actor=WORKER, data={"tx_hash": row.tx_hash, "nonce": row.nonce})


def _on_resigned(session: Session, row: ChainTx) -> None:
    _locked(session, row).tx_hash = row.tx_hash


def _on_moved(session: Session, row: ChainTx) -> None:
    """A reorg dropped the confirmed mint and the reorg repair's re-send landed in another block."""
    _locked(session, row).block_number = row.block_number


def _on_confirmed(session: Session, row: ChainTx) -> None:
    mint = _locked(session, row)
    if mint.status == "approved":
        _on_submitted(session, row)
    pool = reserves.lock_pool(session)
    fiat.settle_reserved(session, mint.customer_id, mint.amount_fen)
    reserves.mint_confirmed(pool, mint.amount_fen)
    mint.block_number, mint.confirmed_at = row.block_number, utc_now()
    _transition(
        session,
        mint,
        "confirmed",
        actor=WORKER,
        data={
            "tx_hash": row.tx_hash,
            "block_number": row.block_number,
            "block_hash": row.block_hash,
            "outstanding_fen_after": pool.outstanding_fen,
        },
    )


def _on_failed(session: Session, row: ChainTx, reason: str) -> None:
    mint = _locked(session, row)
    _release(session, mint)  # a definitive failure gives the fiat back (R10)
    mint.reason_code, mint.reason = "chain_failed", reason
    _transition(session, mint, "failed", actor=WORKER, data={"tx_hash": row.tx_hash, "reason": reason[:300]})


register(
    "mint",
    OutboxHandler(
        on_confirmed=_on_confirmed,
        on_failed=_on_failed,
        on_submitted=_on_submitted,
        on_resigned=_on_resigned,
        on_moved=_on_moved,
        lock_batch=_lock_batch,
    ),
)
