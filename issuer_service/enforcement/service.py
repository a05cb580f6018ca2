"""Freeze and seize (R23, R24).

Freezing: a *hold* records why a wallet must stay frozen (a compliance officer's decision or a
screening case). The first hold sends `freeze` through the outbox; lifting the last one sends
`unfreeze`. `Wallet.frozen` mirrors the chain: it changes only in the transaction that records the
confirmed freeze/unfreeze (R22's "one fact" applied to the freeze flag).

Seizing: compliance asks with a recorded legal basis; a second principal approves through the
general approvals (R40); the outbox sends `burnFrozen(wallet, units, caseId)`. When the burn is
confirmed the ledger's outstanding supply goes down (`reserves.burn_confirmed`) and the re-mint to
the recovery wallet is queued as in flight; when the re-mint is confirmed outstanding goes back up
(`reserves.mint_confirmed`). Reserve cash never moves: the same tokens change hands, so reserves
and supply stay equal, and the indexer explains both supply changes by their outbox rows (R16).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from compliance.money import fen_to_units, format_fen
from issuer_service.addresses import parse_address
from issuer_service.admin.service import is_paused
from issuer_service.approvals import service as approvals
from issuer_service.approvals.models import ApprovalRequest
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.chain.gateway import ChainGateway
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customers
from issuer_service.due_diligence import service as due_diligence
from issuer_service.enforcement import repository
from issuer_service.enforcement.models import Seizure, WalletFreeze
from issuer_service.enforcement.repository import FREEZE_ENTITY, SEIZURE_ENTITY
from issuer_service.enforcement.schemas import (
    FreezeIn,
    HoldOut,
    SeizureCreate,
    SeizureOut,
    UnfreezeIn,
    WalletEnforcementOut,
)
from issuer_service.errors import Conflict, NotFound, RuleRejected
from issuer_service.ids import new_id
from issuer_service.lifecycle import Lifecycle
from issuer_service.outbox import repository as outbox
from issuer_service.outbox.handlers import WORKER, OutboxHandler, register
from issuer_service.outbox.models import ChainTx
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.reserves import service as reserves
from issuer_service.screening import repository as screening
from issuer_service.travel_rule import service as travel_rule
from issuer_service.travel_rule.models import TravelRuleRecord
from issuer_service.wallets import repository as wallets
from issuer_service.wallets.models import Wallet

SEIZURE_ACTION = "seizure"


# ---------------------------------------------------------------- holds, freeze and unfreeze
def chain_target(session: Session, wallet: Wallet) -> str:
    """ "frozen" or "unfrozen": where the last freeze/unfreeze the service sent takes the wallet."""
    latest = repository.latest_freeze_tx(session, wallet.id)
    if latest is None:
        return "frozen" if wallet.frozen else "unfrozen"
    return "frozen" if latest.function == "freeze" else "unfrozen"


def frozen_or_freezing(session: Session, wallet: Wallet) -> bool:
    """R24: frozen on chain, or a freeze recorded and on its way there (its hold is in force now)."""
    return wallet.frozen or chain_target(session, wallet) == "frozen"


def hold_wallet(
    session: Session,
    *,
    wallet: Wallet,
    actor: str,
    reason: str,
    legal_basis: str | None = None,
    case_id: str | None = None,
) -> WalletFreeze:
    """Record a hold and, unless the chain is already heading to frozen, send `freeze` (R23, R24)."""
    hold = WalletFreeze(
        id=new_id("frz"),
        wallet_id=wallet.id,
        address=wallet.address,
        reason=reason,
        legal_basis=legal_basis,
        case_id=case_id,
        requested_by=actor,
        created_at=utc_now(),
    )
    if chain_target(session, wallet) != "frozen":
        row = outbox.enqueue(
            session, function="freeze", args=[wallet.address], entity_type=FREEZE_ENTITY, entity_id=wallet.id
        )
        hold.freeze_chain_tx_id = row.id
    repository.add(session, hold)
    append_audit(
        session,
        actor=actor,
        action="wallet.freeze_requested",
        entity_type="wallet",
        entity_id=wallet.id,
        data={
            "address": wallet.address,
            "hold_id": hold.id,
            "reason": reason,
            "legal_basis": legal_basis,
            "case_id": case_id,
            "freeze_tx_queued": hold.freeze_chain_tx_id is not None,
        },
        rule_ids=["R23", "R24"] if case_id else ["R24"],
    )
    return hold


def lift_holds(session: Session, *, wallet: Wallet, holds: list[WalletFreeze], actor: str, reason: str) -> None:
    """Lift `holds`; when none is left, send `unfreeze` (unless the chain is already heading there)."""
    now = utc_now()
    for hold in holds:
        hold.lifted_by, hold.lifted_at, hold.lift_reason = actor, now, reason
    remaining = repository.holds(session, wallet.id)
    row = None
    if not remaining and chain_target(session, wallet) == "frozen":
        _refuse_unfreeze_before_burn(session, wallet)
        row = outbox.enqueue(
            session, function="unfreeze", args=[wallet.address], entity_type=FREEZE_ENTITY, entity_id=wallet.id
        )
        for hold in holds:
            hold.unfreeze_chain_tx_id = row.id
    append_audit(
        session,
        actor=actor,
        action="wallet.unfreeze_requested" if row else "wallet.hold_lifted",
        entity_type="wallet",
        entity_id=wallet.id,
        data={
            "address": wallet.address,
            "hold_ids": [h.id for h in holds],
            "reason": reason,
            "holds_remaining": len(remaining),
            "unfreeze_tx_queued": row is not None,
        },
        rule_ids=["R24"],
    )


def _refuse_unfreeze_before_burn(session: Session, wallet: Wallet) -> None:
    """R24, R40: a seizure waiting for its second approver, or approved and not yet burned, needs
    the wallet frozen; unfreezing first would let the balance move and the burn revert."""
    seizure = repository.seizure_in_flight(session, wallet.id)
    if seizure is not None and seizure.status in ("pending_approval", "approved", "burn_submitted"):
        fix = (
            f"or reject the seizure first (POST /v1/approvals/{seizure.approval_id}/reject)"
            if seizure.status == "pending_approval"
            else f"try again once the seizure is burned (GET /v1/seizures/{seizure.id})"
        )
        raise Conflict(
            f"seizure {seizure.id} of wallet {wallet.address} is {seizure.status}; the wallet stays frozen until "
            f"it is burned: {fix}"
        )


def _recovery_wallet_unusable(session: Session, recovery: Wallet) -> str | None:
    """Why seized funds must not be re-minted to `recovery`, or None (R23, R24)."""
    if recovery.status != "active" or frozen_or_freezing(session, recovery):
        return f"the recovery wallet {recovery.address} must be active and not frozen"
    owner = customers.get(session, recovery.customer_id)
    if owner is None or owner.status != "active" or owner.kyc_status != "approved":
        return f"the recovery wallet {recovery.address} belongs to a customer who is not active and KYC-approved"
    if due_diligence.edd_pending(session, owner):  # R20: the re-mint is a mint to the owner
        return (
            f"the recovery wallet {recovery.address} belongs to a high-risk customer whose enhanced due diligence "
            "no second compliance officer has recorded; record it first or choose another recovery wallet"
        )
    if screening.unresolved_for_customer(session, owner.id):
        return f"the recovery wallet {recovery.address} belongs to a customer with unresolved screening cases"
    return None


def release_case_holds(session: Session, *, case_id: str, actor: str, reason: str) -> None:
    """A screening case was cleared (R23): lift the holds it placed; wallets without other holds thaw."""
    by_wallet: dict[str, list[WalletFreeze]] = {}
    for hold in repository.holds_of_case(session, case_id):
        by_wallet.setdefault(hold.wallet_id, []).append(hold)
    for wallet_id, holds in by_wallet.items():
        wallet = wallets.get(session, wallet_id, lock=True)
        if wallet is not None:
            lift_holds(session, wallet=wallet, holds=holds, actor=actor, reason=reason)


def _wallet(session: Session, address: str, field: str) -> Wallet:
    checksummed = parse_address(address, field=field)
    wallet = wallets.get_by_address(session, checksummed, lock=True)
    if wallet is None:
        raise NotFound(f"no bound wallet {checksummed}")
    return wallet


def freeze_wallet(session: Session, *, actor: Principal, address: str, body: FreezeIn) -> WalletEnforcementOut:
    """R24: a compliance officer freezes a wallet: no send, no receive, once the chain confirms."""
    wallet = _wallet(session, address, "path.address")
    if any(h.case_id is None for h in repository.holds(session, wallet.id)):
        raise Conflict(
            f"wallet {wallet.address} is already frozen by compliance; lift that freeze first to record a new reason"
        )
    hold_wallet(session, wallet=wallet, actor=actor.id, reason=body.reason, legal_basis=body.legal_basis)
    return enforcement_view(session, wallet)


def unfreeze_wallet(session: Session, *, actor: Principal, address: str, body: UnfreezeIn) -> WalletEnforcementOut:
    wallet = _wallet(session, address, "path.address")
    holds = repository.holds(session, wallet.id)
    case_ids = {h.case_id for h in holds if h.case_id is not None}
    unresolved = [c.id for c in screening.cases_by_ids(session, case_ids) if c.status in ("open", "confirmed")]
    if unresolved:  # R23: a sanctions hit is cleared through its case, never around it
        raise RuleRejected(
            f"wallet {wallet.address} is frozen by unresolved screening case(s) {unresolved}; "
            "clear the case (POST /v1/screening/cases/{id}/clear) instead",
            reason_code="sanctions_hit",
            rule_id="R23",
        )
    if not holds and chain_target(session, wallet) == "unfrozen":
        raise Conflict(f"wallet {wallet.address} is not frozen")
    lift_holds(session, wallet=wallet, holds=holds, actor=actor.id, reason=body.reason)
    return enforcement_view(session, wallet)


def get_enforcement(session: Session, *, address: str) -> WalletEnforcementOut:
    return enforcement_view(session, _wallet(session, address, "path.address"))


def enforcement_view(session: Session, wallet: Wallet) -> WalletEnforcementOut:
    holds = repository.holds(session, wallet.id, unlifted_only=False)
    return WalletEnforcementOut(
        wallet=wallet.address,
        customer_id=wallet.customer_id,
        frozen=wallet.frozen,
        chain_target=chain_target(session, wallet),  # type: ignore[arg-type]
        holds=[
            HoldOut(
                id=h.id,
                reason=h.reason,
                legal_basis=h.legal_basis,
                case_id=h.case_id,
                requested_by=h.requested_by,
                created_at=h.created_at,
                lifted_by=h.lifted_by,
                lifted_at=h.lifted_at,
                lift_reason=h.lift_reason,
            )
            for h in holds
        ],
    )


# ---------------------------------------------------------------- outbox: freeze / unfreeze confirmed
def _freeze_confirmed(session: Session, row: ChainTx) -> None:
    wallet = wallets.get(session, row.entity_id, lock=True)
    if wallet is None:  # pragma: no cover - the outbox row was written with a wallet
        return
    wallet.frozen = row.function == "freeze"  # the chain now says so (R24)
    append_audit(
        session,
        actor=WORKER,
        action="wallet.frozen" if wallet.frozen else "wallet.unfrozen",
        entity_type="wallet",
        entity_id=wallet.id,
        data={"address": wallet.address, "tx_hash": row.tx_hash, "block_number": row.block_number},
        rule_ids=["R24"],
    )


def _freeze_failed(session: Session, row: ChainTx, reason: str) -> None:
    append_audit(
        session,
        actor=WORKER,
        action=f"wallet.{row.function}_failed",
        entity_type="wallet",
        entity_id=row.entity_id,
        data={"tx_hash": row.tx_hash, "reason": reason[:300]},
        rule_ids=["R24"],
    )


register(FREEZE_ENTITY, OutboxHandler(on_confirmed=_freeze_confirmed, on_failed=_freeze_failed))


# ---------------------------------------------------------------- seizures
_EDGES = {
    "pending_approval": {"approved", "rejected"},
    "approved": {"burn_submitted", "failed"},
    "burn_submitted": {"burned", "failed"},
    "burned": {"remint_submitted", "remint_failed"},
    "remint_submitted": {"completed", "remint_failed"},
}
SEIZURE_LIFECYCLE = Lifecycle("seizure", _EDGES, {})


def _transition(session: Session, seizure: Seizure, to: str, *, actor: str, data: dict[str, Any] | None = None) -> None:
    """The only way a seizure changes status (R50)."""
    SEIZURE_LIFECYCLE.move(
        session, seizure, to, actor=actor,
        data={"wallet": seizure.address, "recovery_wallet": seizure.recovery_address,
              "amount_fen": seizure.amount_fen, "legal_basis": seizure.legal_basis,
              "case_reference": seizure.case_reference, **(data or {})},
        rule_ids=["R24", "R40"] if to in ("approved", "rejected") else ["R16", "R24"],
    )


def request_seizure(
    session: Session, *, actor: Principal, body: SeizureCreate, gateway: ChainGateway | None
) -> SeizureOut:
    """R24: compliance asks to seize a frozen balance on a recorded legal basis; nothing moves until
    a second principal approves (R40)."""
    wallet = _wallet(session, body.wallet, "body.wallet")
    recovery = _wallet(session, body.recovery_wallet, "body.recovery_wallet")
    if recovery.id == wallet.id:
        raise Conflict("the recovery wallet must be another wallet", field="body.recovery_wallet")
    if not wallet.frozen or chain_target(session, wallet) != "frozen":
        raise RuleRejected(
            f"wallet {wallet.address} is not frozen on chain; freeze it first and wait for the "
            "confirmation (R24: only a frozen balance can be seized)",
            reason_code="wallet_not_frozen",
            rule_id="R24",
            field="body.wallet",
        )
    unusable = _recovery_wallet_unusable(session, recovery)
    if unusable is not None:
        raise RuleRejected(
            unusable,
            reason_code="recovery_wallet_unusable",
            rule_id="R24",
            field="body.recovery_wallet",
        )
    if repository.seizure_in_flight(session, wallet.id) is not None:
        raise Conflict(f"a seizure from {wallet.address} is already in progress", field="body.wallet")
    amount_fen = body.amount
    if gateway is not None:
        balance_units = gateway.account_state(wallet.address).balance_units  # ChainUnavailable → 503
        if amount_fen is None:
            amount_fen = balance_units // fen_to_units(1)
        elif fen_to_units(amount_fen) > balance_units:
            raise RuleRejected(
                f"the wallet holds less than {format_fen(amount_fen)} tCNH",
                reason_code="insufficient_token_balance",
                rule_id="R24",
                field="body.amount",
            )
    if not amount_fen:
        raise Conflict(f"wallet {wallet.address} holds no whole fen to seize", field="body.amount")
    now = utc_now()
    seizure_id = new_id("szr")
    seizure = Seizure(
        id=seizure_id,
        wallet_id=wallet.id,
        address=wallet.address,
        recovery_wallet_id=recovery.id,
        recovery_address=recovery.address,
        amount_fen=amount_fen,
        legal_basis=body.legal_basis,
        case_reference=body.case_reference,
        chain_case_id="0x" + hashlib.sha256(seizure_id.encode()).hexdigest(),
        status="pending_approval",
        requested_by=actor.id,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, seizure)
    request = approvals.open_request(
        session,
        action=SEIZURE_ACTION,
        subject_type="seizure",
        subject_id=seizure.id,
        payload={
            "wallet": wallet.address,
            "recovery_wallet": recovery.address,
            "amount_fen": amount_fen,
            "legal_basis": body.legal_basis,
            "case_reference": body.case_reference,
        },
        summary=f"seize {format_fen(amount_fen)} tCNH from {wallet.address} to {recovery.address}",
        requester=actor,
    )
    seizure.approval_id = request.id
    append_audit(
        session,
        actor=actor.id,
        action="seizure.requested",
        entity_type="seizure",
        entity_id=seizure.id,
        data={
            "wallet": wallet.address,
            "recovery_wallet": recovery.address,
            "amount_fen": amount_fen,
            "legal_basis": body.legal_basis,
            "case_reference": body.case_reference,
            "approval_id": request.id,
        },
        rule_ids=["R24", "R40"],
        on_written=lambda seq: setattr(seizure, "last_audit_seq", seq),
    )
    return seizure_out(seizure)


def _locked_seizure(session: Session, seizure_id: str) -> Seizure:
    seizure = repository.get_seizure(session, seizure_id, lock=True)
    if seizure is None:  # pragma: no cover - approvals and outbox rows are written with the seizure
        raise NotFound(f"no seizure {seizure_id}")
    return seizure


def _on_approved(
    session: Session, request: ApprovalRequest, actor: Principal, context: approvals.ApprovalContext
) -> None:
    seizure = _locked_seizure(session, request.subject_id)
    if is_paused(session, hold=True):  # R41: the re-mint could not run; approve once the service is resumed
        raise RuleRejected(
            "the service is paused; approve the seizure after it resumes", reason_code="paused", rule_id="R41"
        )
    wallet = wallets.get(session, seizure.wallet_id, lock=True)
    if wallet is None or not wallet.frozen or chain_target(session, wallet) != "frozen":
        raise Conflict(f"wallet {seizure.address} is no longer frozen; the seizure cannot run")
    recovery = wallets.get(session, seizure.recovery_wallet_id, lock=True)
    unusable = "it is gone" if recovery is None else _recovery_wallet_unusable(session, recovery)
    if unusable is not None:
        raise Conflict(
            f"{unusable} (recovery wallet {seizure.recovery_address}); reject this seizure and ask again with "
            "another recovery wallet"
        )
    row = outbox.enqueue(
        session,
        function="burnFrozen",
        args=[seizure.address, fen_to_units(seizure.amount_fen), seizure.chain_case_id],
        entity_type=SEIZURE_ENTITY,
        entity_id=seizure.id,
    )
    seizure.burn_chain_tx_id, seizure.approved_by = row.id, actor.id
    assert recovery is not None  # unusable says "it is gone" otherwise
    record = _record_travel_rule(session, seizure, wallet, recovery, context, actor=actor.id)
    _transition(
        session,
        seizure,
        "approved",
        actor=actor.id,
        data={
            "approval_id": request.id,
            "approved_by": actor.id,
            "note": context.note,
            "travel_rule_record_id": record.id,
        },
    )


def _record_travel_rule(
    session: Session,
    seizure: Seizure,
    wallet: Wallet,
    recovery: Wallet,
    context: approvals.ApprovalContext,
    *,
    actor: str,
) -> TravelRuleRecord:
    """R25: the approved seizure is a transfer the service initiates, from the frozen holder to the
    recovery wallet's owner; its record is kept now, before anything moves, and linked to the
    re-mint's transaction when that is confirmed (`_seizure_confirmed`)."""
    return travel_rule.record_seizure(
        session,
        seizure_id=seizure.id,
        tx_hash=None,
        holder=customers.get(session, wallet.customer_id),
        holder_wallet=seizure.address,
        recovery_owner=customers.get(session, recovery.customer_id),
        recovery_wallet=seizure.recovery_address,
        amount_fen=seizure.amount_fen,
        profile=context.profile,
        actor=actor,
    )


def _on_rejected(session: Session, request: ApprovalRequest, actor: Principal) -> None:
    seizure = _locked_seizure(session, request.subject_id)
    seizure.reason = request.decision_note
    _transition(
        session, seizure, "rejected", actor=actor.id, data={"approval_id": request.id, "note": request.decision_note}
    )


approvals.register_executor(SEIZURE_ACTION, approvals.Executor(on_approved=_on_approved, on_rejected=_on_rejected))


def _seizure_submitted(session: Session, row: ChainTx) -> None:
    seizure = _record_seizure_hash(session, row)
    status = "burn_submitted" if row.function == "burnFrozen" else "remint_submitted"
    _transition(session, seizure, status, actor=WORKER, data={"tx_hash": row.tx_hash})


def _record_seizure_hash(session: Session, row: ChainTx) -> Seizure:
    """Record the hash of the seizure's burn or re-mint (signed for the first time, or again)."""
    seizure = _locked_seizure(session, row.entity_id)
    if row.function == "burnFrozen":
        seizure.burn_tx_hash = row.tx_hash
    else:
        seizure.remint_tx_hash = row.tx_hash
    return seizure


def _seizure_confirmed(session: Session, row: ChainTx) -> None:
    seizure = _locked_seizure(session, row.entity_id)
    pool = reserves.lock_pool(session)
    if row.function == "burnFrozen":
        if seizure.status == "approved":
            _seizure_submitted(session, row)
        reserves.burn_confirmed(pool, seizure.amount_fen)  # R16: the ledger follows the burn
        # The re-mint is accepted now: it counts as supply in flight (R1) with no new fiat, because
        # the reserve already backs these tokens.
        pool.in_flight_mint_fen += seizure.amount_fen
        remint = outbox.enqueue(
            session,
            function="mint",
            args=[seizure.recovery_address, fen_to_units(seizure.amount_fen)],
            entity_type=SEIZURE_ENTITY,
            entity_id=seizure.id,
        )
        seizure.remint_chain_tx_id = remint.id
        _transition(
            session,
            seizure,
            "burned",
            actor=WORKER,
            data={
                "tx_hash": row.tx_hash,
                "block_number": row.block_number,
                "chain_case_id": seizure.chain_case_id,
                "outstanding_fen_after": pool.outstanding_fen,
            },
        )
        return
    if seizure.status == "burned":
        _seizure_submitted(session, row)
    reserves.mint_confirmed(pool, seizure.amount_fen)  # outstanding back up; reserve cash unchanged
    travel_rule.link_seizure_tx(session, seizure_id=seizure.id, tx_hash=row.tx_hash)  # R25
    seizure.completed_at = utc_now()
    _transition(
        session,
        seizure,
        "completed",
        actor=WORKER,
        data={
            "tx_hash": row.tx_hash,
            "block_number": row.block_number,
            "outstanding_fen_after": pool.outstanding_fen,
            "reserve_cash_fen": pool.cash_fen,
        },
    )


def _seizure_failed(session: Session, row: ChainTx, reason: str) -> None:
    seizure = _locked_seizure(session, row.entity_id)
    seizure.reason = reason[:1000]
    if row.function == "burnFrozen":
        _transition(session, seizure, "failed", actor=WORKER, data={"tx_hash": row.tx_hash, "reason": reason[:300]})
        return
    # The burn stands; the tokens were not re-issued. Reserves now exceed supply by the amount.
    pool = reserves.lock_pool(session)
    pool.in_flight_mint_fen -= seizure.amount_fen
    _transition(session, seizure, "remint_failed", actor=WORKER, data={"tx_hash": row.tx_hash, "reason": reason[:300]})


register(
    SEIZURE_ENTITY,
    OutboxHandler(
        on_confirmed=_seizure_confirmed,
        on_failed=_seizure_failed,
        on_submitted=_seizure_submitted,
        on_resigned=_record_seizure_hash,
    ),
)


def get_seizure(session: Session, seizure_id: str) -> SeizureOut:
    seizure = repository.get_seizure(session, seizure_id)
    if seizure is None:
        raise NotFound(f"no seizure {seizure_id}")
    return seizure_out(seizure)


def list_seizures(session: Session, *, limit: int, cursor: str | None) -> Page[SeizureOut]:
    rows = repository.list_seizures(session, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda s: s.id)
    return Page[SeizureOut](items=[seizure_out(s) for s in page], next_cursor=next_cursor)


def seizure_out(s: Seizure) -> SeizureOut:
    return SeizureOut(
        id=s.id,
        wallet=s.address,
        recovery_wallet=s.recovery_address,
        amount=s.amount_fen,
        legal_basis=s.legal_basis,
        case_reference=s.case_reference,
        chain_case_id=s.chain_case_id,
        status=s.status,  # type: ignore[arg-type]
        reason=s.reason,
        requested_by=s.requested_by,
        approval_id=s.approval_id,
        approved_by=s.approved_by,
        burn_tx_hash=s.burn_tx_hash,
        remint_tx_hash=s.remint_tx_hash,
        audit_ref=s.last_audit_seq,
        created_at=s.created_at,
        updated_at=s.updated_at,
        completed_at=s.completed_at,
    )
