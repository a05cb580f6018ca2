"""Binding a wallet: a one-time challenge, proof of control, then on-chain allow-listing (R21, R22).

The allow-list has one source of truth per side, kept as one fact: the wallet row turns `active`
only in the transaction that records the confirmed `addToAllowList` transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy.orm import Session

from issuer_service.addresses import parse_address
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.chain.gateway import ChainGateway
from issuer_service.clock import iso_utc, utc_now
from issuer_service.customers import repository as customers
from issuer_service.db import end_reads
from issuer_service.errors import Conflict, Forbidden, NotFound, RuleRejected, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.outbox import repository as outbox
from issuer_service.outbox.handlers import WORKER, OutboxHandler, register
from issuer_service.outbox.models import ChainTx
from issuer_service.screening import service as screening
from issuer_service.wallets import repository
from issuer_service.wallets.models import Wallet, WalletChallenge
from issuer_service.wallets.schemas import ChallengeOut, WalletCreate, WalletOut

CHALLENGE_TTL = timedelta(minutes=10)


def _customer_of(actor: Principal) -> str:
    if actor.customer_id is None:
        raise Forbidden("wallets are bound with a customer key")
    return actor.customer_id


def issue_challenge(session: Session, *, actor: Principal, address: str, chain_id: int, token: str) -> ChallengeOut:
    customer_id = _customer_of(actor)
    checksummed = parse_address(address, field="query.address")
    now = utc_now()
    expires = now + CHALLENGE_TTL
    # R21: one-time and specific — customer, address, chain, token, a random nonce and an expiry.
    message = (
        "CNH sandbox wallet binding (SANDBOX - NOT A LICENSED STABLECOIN)\n"
        f"Customer: {customer_id}\nWallet: {checksummed}\nChain: {chain_id}\nToken: {token}\n"
        f"Nonce: {secrets.token_hex(16)}\nExpires: {iso_utc(expires)}"
    )
    repository.add_challenge(session, WalletChallenge(
        id=new_id("wch"), customer_id=customer_id, address=checksummed, message=message, expires_at=expires,
        used_at=None, created_at=now,
    ))
    return ChallengeOut(address=checksummed, message=message, expires_at=expires)


def bind_wallet(session: Session, *, actor: Principal, body: WalletCreate, gateway: ChainGateway) -> WalletOut:
    customer_id = _customer_of(actor)
    address = parse_address(body.address, field="body.address")
    screening.refuse_listed_address(session, address)  # R23: a listed wallet is never bound
    # Held (share-locked) to the commit, as a mint holds it: a screening block or a KYC decision that
    # commits meanwhile waits for this binding, and a re-screening then finds the new wallet (R20, R23).
    customer = customers.get_held(session, customer_id)
    if customer is None or customer.status != "active":
        raise NotFound(f"customer {customer_id} not found or not active")
    if customer.kyc_status != "approved":  # R20 before a wallet can hold tokens
        raise RuleRejected("customer due diligence is not approved; complete KYC before binding a wallet",
                           reason_code="kyc_not_approved", rule_id="R20")
    # Every open challenge counts, not only the newest: a client that asked twice (a script run again,
    # a retried GET) and signed the first has proven control all the same.
    challenges = repository.open_challenges(session, customer_id, address, now=utc_now())
    if not challenges:
        if repository.has_unused_challenge(session, customer_id, address):
            raise ValidationFailed("the challenge expired; request a new one and sign it within 10 minutes",
                                   field="body.signature")
        raise ValidationFailed("no open challenge for this wallet; GET /v1/wallets/challenge?address=… first",
                               field="body.address")
    signature = bytes.fromhex(body.signature[2:])
    challenge, kind = _verify_control(gateway, address, challenges, signature)
    challenge.used_at = utc_now()  # one-time: a replayed signature finds no open challenge
    existing = repository.get_by_address(session, address, lock=True)
    if existing is not None:
        if existing.customer_id != customer_id:
            raise Conflict("this wallet is bound to another customer", field="body.address")
        if existing.status == "revoked":  # its allow-listing failed on chain (_on_failed): send it again (R22)
            existing.status = "pending"
            _allow_list(session, existing, actor=actor.id, challenge_id=challenge.id)
        return to_out(existing)
    now = utc_now()
    wallet = repository.add(session, Wallet(
        id=new_id("wal"), customer_id=customer_id, address=address, kind=kind, status="pending", frozen=False,
        created_at=now, activated_at=None,
    ))
    _allow_list(session, wallet, actor=actor.id, challenge_id=challenge.id)
    return to_out(wallet)


def _allow_list(session: Session, wallet: Wallet, *, actor: str, challenge_id: str) -> None:
    """The proof of control is recorded; the allow-listing goes to the chain through the outbox."""
    outbox.enqueue(session, function="addToAllowList", args=[wallet.address], entity_type="wallet",
                   entity_id=wallet.id)
    append_audit(session, actor=actor, action="wallet.bound", entity_type="wallet", entity_id=wallet.id,
                 data={"customer_id": wallet.customer_id, "address": wallet.address, "kind": wallet.kind,
                       "challenge_id": challenge_id}, rule_ids=["R21", "R22"])


def _verify_control(
    gateway: ChainGateway, address: str, challenges: list[WalletChallenge], signature: bytes
) -> tuple[WalletChallenge, str]:
    """R21: an EOA proves control with personal_sign; a contract wallet through ERC-1271. The
    challenge whose message the signature signs, and the wallet's kind."""
    if len(signature) == 65:
        for challenge in challenges:
            try:
                signer = Account.recover_message(encode_defunct(text=challenge.message), signature=signature)
            except Exception:  # noqa: BLE001 - any malformed signature is just "not proven"
                signer = None
            if signer == address:
                return challenge, "eoa"
    if gateway.is_contract(address):
        for challenge in challenges:
            if gateway.erc1271_valid(address, challenge.message, signature):
                return challenge, "contract"
    raise ValidationFailed("the signature does not prove control of this wallet: sign the challenge message "
                           "exactly as returned, with the wallet's own key (personal_sign)", field="body.signature")


def get_wallet(session: Session, *, principal: Principal, address: str, gateway: ChainGateway | None) -> WalletOut:
    checksummed = parse_address(address, field="path.address")
    wallet = repository.get_by_address(session, checksummed)
    if wallet is None or (principal.role == "customer" and wallet.customer_id != principal.customer_id):
        raise NotFound(f"no wallet {checksummed}")
    out = to_out(wallet)
    if gateway is not None:
        from issuer_service.chain.gateway import ChainUnavailable

        end_reads(session)  # the node may be slow: hold no lock meanwhile

        try:
            state = gateway.account_state(checksummed)
            from compliance.money import format_units

            out.on_chain = {"allow_listed": state.allow_listed, "frozen": state.frozen,
                            "balance": format_units(state.balance_units)}
        except ChainUnavailable:
            out.on_chain = None
    return out


def to_out(wallet: Wallet) -> WalletOut:
    return WalletOut(id=wallet.id, customer_id=wallet.customer_id, address=wallet.address, kind=wallet.kind,
                     status=wallet.status, frozen=wallet.frozen, created_at=wallet.created_at,
                     activated_at=wallet.activated_at)


# ---------------------------------------------------------------- outbox callbacks
def _on_confirmed(session: Session, row: ChainTx) -> None:
    wallet = repository.get(session, row.entity_id, lock=True)
    if wallet is None or wallet.status != "pending":
        return
    wallet.status, wallet.activated_at = "active", utc_now()
    append_audit(session, actor=WORKER, action="wallet.allow_listed", entity_type="wallet", entity_id=wallet.id,
                 data={"address": wallet.address, "tx_hash": row.tx_hash, "block_number": row.block_number},
                 rule_ids=["R22"])


def _on_failed(session: Session, row: ChainTx, reason: str) -> None:
    wallet = repository.get(session, row.entity_id, lock=True)
    if wallet is None or wallet.status != "pending":
        return
    wallet.status = "revoked"
    append_audit(session, actor=WORKER, action="wallet.allow_list_failed", entity_type="wallet",
                 entity_id=wallet.id, data={"address": wallet.address, "reason": reason[:300]}, rule_ids=["R22"])


register("wallet", OutboxHandler(on_confirmed=_on_confirmed, on_failed=_on_failed))
