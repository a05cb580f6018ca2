"""Redeeming: verify the holder's permit, burn on chain through the outbox, then pay out fiat at par.

R16: the payout is recorded only in the transaction that records the confirmed burn, after it.
R13: each request carries its payout deadline; `sla_met` says whether it was kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from compliance.calendar import redemption_deadline, start_of_business_day
from compliance.decision import PERMIT_EXPIRED, PERMIT_INVALID
from compliance.money import fen_to_units
from compliance.profiles import RegimeProfile
from compliance.redemption_rules import (
    RedemptionContext,
    check_redemption,
    check_redemption_minimum,
    redemption_fee_fen,
    redemption_minimum_fen,
    redemption_payout_fen,
)
from issuer_service.addresses import parse_address
from issuer_service.admin.service import is_paused
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.chain.gateway import ChainGateway
from issuer_service.chain.permit import PermitSignature, recover_permit_signer
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customers
from issuer_service.due_diligence import service as due_diligence
from issuer_service.enforcement.service import frozen_or_freezing
from issuer_service.errors import Conflict, Forbidden, NotFound, RuleRejected, ValidationFailed
from issuer_service.fiat_accounts import service as fiat
from issuer_service.ids import new_id
from issuer_service.lifecycle import Lifecycle
from issuer_service.limits import service as limits
from issuer_service.outbox import repository as outbox
from issuer_service.outbox.handlers import REVERTED, WORKER, OutboxHandler, register
from issuer_service.outbox.models import ChainTx
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.redemptions import repository
from issuer_service.redemptions.models import Redemption
from issuer_service.redemptions.schemas import QuoteOut, RedemptionCreate, RedemptionOut
from issuer_service.reserves import service as reserves
from issuer_service.travel_rule import service as travel_rule
from issuer_service.wallets import repository as wallets
from issuer_service.webhooks import service as webhooks

PERMIT_MIN_LIFETIME_S = 120  # the burn must reach the chain before the permit expires
_SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0  # OZ ECDSA's s bound
_EDGES = {
    "requested": {"burn_submitted", "failed"},
    "burn_submitted": {"burned", "failed"},
    "burned": {"paid"},
}
_AMOUNT_CODES = {"below_minimum", "insufficient_token_balance", "over_daily_limit"}
_WALLET_CODES = {"wallet_not_owned", "wallet_not_allowlisted", "wallet_frozen"}
_RULES_BY_STATUS = {"burn_submitted": ["R13"], "burned": ["R16"], "paid": ["R13", "R14", "R16"], "failed": ["R13"]}
REDEMPTION_LIFECYCLE = Lifecycle("redemption", _EDGES, _RULES_BY_STATUS)


def _transition(session: Session, redemption: Redemption, to: str, *, actor: str,
                data: dict[str, Any] | None = None) -> None:
    """The only way a redemption changes status (R50)."""
    REDEMPTION_LIFECYCLE.move(session, redemption, to, actor=actor, data={
        "customer_id": redemption.customer_id, "wallet": redemption.wallet_address,
        "amount_fen": redemption.amount_fen, **(data or {})})
    webhooks.emit(
        session, redemption.customer_id, f"redemption.{to}", lambda: to_out(redemption).model_dump(mode="json")
    )


def quote(profile: RegimeProfile, amount_fen: int) -> QuoteOut:
    """R14: the fee is disclosed before the request, and shown again on the receipt. An amount the
    request would refuse as under the minimum is refused here the same way."""
    refusal = check_redemption_minimum(amount_fen, profile)
    if refusal is not None:
        raise RuleRejected(refusal.message, reason_code=refusal.reason_code or "", rule_id="R14", field="query.amount")
    return QuoteOut(amount=amount_fen, fee=redemption_fee_fen(amount_fen, profile),
                    payout=redemption_payout_fen(amount_fen, profile),
                    deadline_at=redemption_deadline(utc_now(), profile), minimum=redemption_minimum_fen(profile),
                    profile=profile.name)


def create_redemption(session: Session, *, actor: Principal, body: RedemptionCreate, profile: RegimeProfile,
                      gateway: ChainGateway) -> RedemptionOut:
    if actor.customer_id is None:
        raise Forbidden("redemptions are requested with a customer key")
    address = parse_address(body.wallet, field="body.wallet")
    amount = body.amount
    units = fen_to_units(amount)
    # Held to the commit (R41), and before the account lock below: a pause waiting for this request
    # must not be what a later request queues behind while this one holds the account.
    paused = is_paused(session, hold=True)
    # Per-customer serialisation: daily limits and the one-in-flight-per-wallet rule cannot race.
    fiat.lock_account(session, actor.customer_id)
    # Held (share-locked) to the commit, as a mint holds it: a KYC decision or a screening block that
    # commits while this request runs waits for it, never overtakes it unseen (R20, R23).
    customer = customers.get_held(session, actor.customer_id)
    if customer is None:
        raise NotFound(f"customer {actor.customer_id} not found")
    wallet = wallets.get_held_by_address(session, address)  # a freeze waits for this request (R24)
    owned = wallet is not None and wallet.customer_id == customer.id
    if owned and wallet is not None and repository.in_flight_for_wallet(session, wallet.id) is not None:
        raise Conflict("a redemption from this wallet is still in flight; wait until it is paid, then sign a new "
                       "permit with the next nonce", field="body.wallet")
    chain_state = gateway.account_state(address)  # ChainUnavailable → 503, nothing written
    frozen = chain_state.frozen or (wallet is not None and frozen_or_freezing(session, wallet))  # R24
    decision = check_redemption(RedemptionContext(
        amount_fen=amount, customer_kyc_status=customer.kyc_status, customer_risk=customer.risk,
        customer_active=customer.status == "active", wallet_owned_by_customer=owned,
        wallet_status=wallet.status if wallet else "unknown", wallet_frozen=frozen,
        paused=paused, token_balance_units=chain_state.balance_units,
        redeemed_today_fen=repository.redeemed_since(session, customer.id, start_of_business_day(utc_now(), profile)),
        enhanced_due_diligence_pending=due_diligence.edd_pending(session, customer),  # R20
        daily_limit_fen=limits.daily_redeem_override(session, customer.id),  # R12: approved limit change
    ), profile)
    if not decision.allowed:
        # Only a refusal about the wallet names it: a pause (R41) or the customer's due diligence (R20,
        # R23) is not something the holder fixes in the request.
        raise RuleRejected(decision.message, reason_code=decision.reason_code or "rejected",
                           rule_id=decision.rule_id or "", field="body.amount"
                           if decision.reason_code in _AMOUNT_CODES else "body.wallet"
                           if decision.reason_code in _WALLET_CODES else None)
    assert wallet is not None
    # R25: 422 names each gap; after the rules above, so that e.g. a paused service says so first (R41).
    travel_rule.require_complete(body.travel_rule, amount_fen=amount, profile=profile, wallet=address)
    _check_permit(body, gateway, address, units, chain_state.permit_nonce)
    now = utc_now()
    redemption_id = new_id("red")
    redemption = repository.add(session, Redemption(
        id=redemption_id, customer_id=customer.id, wallet_id=wallet.id, wallet_address=address, amount_fen=amount,
        fee_fen=redemption_fee_fen(amount, profile), payout_fen=redemption_payout_fen(amount, profile),
        status="requested", chain_request_id="0x" + hashlib.sha256(redemption_id.encode()).hexdigest(),
        permit_deadline=body.permit.deadline, permit_v=body.permit.v, permit_r=body.permit.r.lower(),
        permit_s=body.permit.s.lower(), permit_nonce=chain_state.permit_nonce, requested_by=actor.id,
        deadline_at=redemption_deadline(now, profile), created_at=now, updated_at=now,
    ))
    row = outbox.enqueue(session, function="redeemWithPermit", args=[
        address, units, redemption.chain_request_id, body.permit.deadline, body.permit.v,
        redemption.permit_r, redemption.permit_s,
    ], entity_type="redemption", entity_id=redemption.id)
    redemption.chain_tx_id = row.id
    travel_rule.record_redemption(session, redemption_id=redemption.id, wallet=address, amount_fen=amount,
                                  customer=customer, body=body.travel_rule, profile=profile, actor=actor.id)  # R25
    append_audit(session, actor=actor.id, action="redemption.requested", entity_type="redemption",
                          entity_id=redemption.id,
                          data={"customer_id": customer.id, "wallet": address, "amount_fen": amount,
                                "fee_fen": redemption.fee_fen, "payout_fen": redemption.payout_fen,
                                "deadline_at": redemption.deadline_at.isoformat(),
                                "chain_request_id": redemption.chain_request_id},
                          rule_ids=["R13", "R14", "R20"],
                          on_written=lambda seq: setattr(redemption, "last_audit_seq", seq))
    return to_out(redemption)


def _check_permit(body: RedemptionCreate, gateway: ChainGateway, address: str, units: int, nonce: int) -> None:
    """Refuse a permit the chain would refuse, before spending gas on it."""
    now = gateway.block_timestamp()
    if body.permit.deadline < now + PERMIT_MIN_LIFETIME_S:
        raise ValidationFailed(f"the permit deadline must be at least {PERMIT_MIN_LIFETIME_S} s in the future "
                               f"(chain time {now}); sign a new permit", field="body.permit.deadline",
                               reason_code=PERMIT_EXPIRED)
    # The token's ECDSA check refuses these even when they recover to the owner (malleable twins).
    if body.permit.v not in (27, 28):
        raise ValidationFailed("the permit's v must be 27 or 28", field="body.permit.v", reason_code=PERMIT_INVALID)
    if int(body.permit.s, 16) > _SECP256K1_HALF_ORDER:
        raise ValidationFailed("the permit's s must be in the lower half of the curve order (a canonical "
                               "signature); sign it again with a standard EIP-712 signer", field="body.permit.s",
                               reason_code=PERMIT_INVALID)
    signature = PermitSignature(deadline=body.permit.deadline, v=body.permit.v, r=body.permit.r, s=body.permit.s)
    if not _permits_current_minter(gateway, address, units, nonce, signature):
        # R13: only the holder authorises the burn; a stable code lets clients re-sign
        raise ValidationFailed(
            "the permit is not the wallet's signature for this redemption: sign EIP-2612 Permit(owner=wallet, "
            f"spender={gateway.redemption_spender}, value={units}, nonce={nonce}, deadline) with the domain "
            "from GET /v1/token", field="body.permit", reason_code=PERMIT_INVALID)


def _permits_current_minter(gateway: ChainGateway, owner: str, units: int, nonce: int,
                            signature: PermitSignature) -> bool:
    """Whether `signature` is the owner's EIP-2612 permit of `units` at `nonce` to the minter the
    service signs with now (`redemption_spender`), as the token checks it in redeemWithPermit."""
    try:
        signer = recover_permit_signer(chain_id=gateway.chain_id, token=gateway.token_address, owner=owner,
                                       spender=gateway.redemption_spender, value=units, nonce=nonce,
                                       signature=signature)
    except Exception:  # noqa: BLE001 - malformed signature values
        return False
    return bool(signer == owner)


def get_redemption(session: Session, *, principal: Principal, redemption_id: str) -> RedemptionOut:
    redemption = repository.get(session, redemption_id)
    if redemption is None or (principal.role == "customer" and redemption.customer_id != principal.customer_id):
        raise NotFound(f"no redemption {redemption_id}")
    return to_out(redemption)


def list_redemptions(session: Session, *, principal: Principal, limit: int, cursor: str | None
                     ) -> Page[RedemptionOut]:
    customer_id = principal.customer_id if principal.role == "customer" else None
    rows = repository.list_for(session, customer_id=customer_id, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda r: r.id)
    return Page[RedemptionOut](items=[to_out(r) for r in page], next_cursor=next_cursor)


def to_out(r: Redemption) -> RedemptionOut:
    return RedemptionOut(
        id=r.id, customer_id=r.customer_id, wallet=r.wallet_address, amount=r.amount_fen, fee=r.fee_fen,
        payout=r.payout_fen, status=r.status, reason_code=r.reason_code, reason=r.reason,
        chain_request_id=r.chain_request_id, burn_tx_hash=r.burn_tx_hash, block_number=r.block_number,
        payout_reference=r.payout_reference, deadline_at=r.deadline_at, paid_at=r.paid_at,
        sla_met=None if r.paid_at is None else r.paid_at <= r.deadline_at, audit_ref=r.last_audit_seq,
        created_at=r.created_at, updated_at=r.updated_at,
    )


# ---------------------------------------------------------------- outbox callbacks (worker transaction)
def _locked(session: Session, row: ChainTx) -> Redemption:
    redemption = repository.get(session, row.entity_id, lock=True)
    if redemption is None:  # pragma: no cover
        raise RuntimeError(f"outbox row {row.id} refers to missing redemption {row.entity_id}")
    return redemption


def _on_submitted(session: Session, row: ChainTx) -> None:
    redemption = _locked(session, row)
    redemption.burn_tx_hash = row.tx_hash
    _transition(session, redemption, "burn_submitted", actor=WORKER, data={"tx_hash": row.tx_hash})


def _on_resigned(session: Session, row: ChainTx) -> None:
    _locked(session, row).burn_tx_hash = row.tx_hash


def _on_moved(session: Session, row: ChainTx) -> None:
    """A reorg dropped the burn and the reorg repair's re-send landed in another block: the paid
    redemption points at the block that has it now (nothing is burned or paid again)."""
    _locked(session, row).block_number = row.block_number


def _on_confirmed(session: Session, row: ChainTx) -> None:
    redemption = _locked(session, row)
    if redemption.status == "requested":
        _on_submitted(session, row)
    pool = reserves.lock_pool(session)
    reserves.burn_confirmed(pool, redemption.amount_fen)
    redemption.block_number = row.block_number
    _transition(session, redemption, "burned", actor=WORKER,
                data={"tx_hash": row.tx_hash, "block_number": row.block_number, "block_hash": row.block_hash})
    # R16: the burn is final, so the payout to the sandbox bank is recorded now, at par less fee (R13, R14).
    reserves.paid_out(pool, redemption.amount_fen, redemption.fee_fen)
    redemption.paid_at = utc_now()
    redemption.payout_reference = f"SANDBOX-PAYOUT-{redemption.id}"
    _transition(session, redemption, "paid", actor=WORKER,
                data={"payout_fen": redemption.payout_fen, "fee_fen": redemption.fee_fen,
                      "payout_reference": redemption.payout_reference,
                      "sla_met": redemption.paid_at <= redemption.deadline_at})


def _on_failed(session: Session, row: ChainTx, reason: str) -> None:
    redemption = _locked(session, row)
    code = "chain_failed" if reason == REVERTED else PERMIT_INVALID  # else refused before signing: re-sign
    if reason == REVERTED:
        # What the holder can check and fix; the chain does not say which of them it was.
        reason = (f"{reason}: the token refuses a burn whose permit has expired (deadline "
                  f"{redemption.permit_deadline}) or whose wallet is frozen or holds less than the amount; nothing "
                  "was burned or paid: check those, sign a new permit and redeem again")
    redemption.reason_code, redemption.reason = code, reason
    _transition(session, redemption, "failed", actor=WORKER, data={"tx_hash": row.tx_hash, "reason": reason[:300]})


def _refuse_before_signing(session: Session, row: ChainTx, gateway: ChainGateway) -> str | None:
    """The holder's permit names the minter that was the service's when the redemption was accepted.
    After the minter key is rotated the token would revert a burn sent by the new one: the redemption
    fails unsent, telling the holder to sign again for the new minter (nothing burned or paid)."""
    redemption = repository.get(session, row.entity_id)
    if redemption is None:  # pragma: no cover
        return None
    signature = PermitSignature(deadline=redemption.permit_deadline, v=redemption.permit_v, r=redemption.permit_r,
                                s=redemption.permit_s)
    if _permits_current_minter(gateway, redemption.wallet_address, fen_to_units(redemption.amount_fen),
                               redemption.permit_nonce, signature):
        return None
    return (f"the permit names a minter the service no longer signs with (its minter is now "
            f"{gateway.redemption_spender}); nothing was burned or paid: sign a new permit for that spender "
            "(GET /v1/token) and redeem again")


register(
    "redemption",
    OutboxHandler(
        on_confirmed=_on_confirmed, on_failed=_on_failed, on_submitted=_on_submitted, on_resigned=_on_resigned,
        on_moved=_on_moved, refuse_before_signing=_refuse_before_signing,
    ),
)
