"""Travel rule use cases (R25).

- Redemptions: from the profile threshold on, the request must carry the full originator and
  beneficiary data (`require_complete`, a 422 naming each missing field); every redemption and
  mint keeps a record, gaps below the threshold filled from the customer's due-diligence file
  (name, wallet, customer identification number).
- Transfers between customers happen on chain without the service; a client records their data
  with `POST /v1/travel-rule/records` linking the transaction hash. `transfer_findings` compares
  the indexer's transfers with those records for the compliance report.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.money import fen_to_units, format_fen
from compliance.profiles import RegimeProfile
from compliance.travel_rule import (
    ObservedTransfer,
    Party,
    TransferFinding,
    TravelRuleData,
    assess_transfers,
    check_travel_rule,
    full_data_required,
)
from issuer_service.addresses import parse_address
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.customers.models import Customer
from issuer_service.errors import Conflict, FieldError, Forbidden, RuleRejected
from issuer_service.ids import new_id
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.travel_rule import repository
from issuer_service.travel_rule.models import TravelRuleRecord
from issuer_service.travel_rule.schemas import (
    PartyIn,
    PartyOut,
    RequirementsOut,
    TravelRuleIn,
    TravelRuleRecordCreate,
    TravelRuleRecordOut,
)
from issuer_service.wallets import repository as wallets

ISSUER = Party(
    name="Sandbox issuer of tCNH (SANDBOX - NOT A LICENSED STABLECOIN)",
    account="tCNH reserve pool",
    id_number="ISSUER-SANDBOX",
)
_FIELD_HINTS = {
    "name": "the full name",
    "account": "the wallet address or bank account",
    "address": "a postal address or an id_number",
}


def _party(body: PartyIn | None) -> Party:
    if body is None:
        return Party()
    return Party(name=body.name, account=body.account, address=body.address, id_number=body.id_number)


def to_data(body: TravelRuleIn | None) -> TravelRuleData:
    if body is None:
        return TravelRuleData()
    return TravelRuleData(originator=_party(body.originator), beneficiary=_party(body.beneficiary))


def _refuse_missing(missing: list[str] | tuple[str, ...], *, prefix: str, detail: str) -> None:
    if not missing:
        return
    error = RuleRejected(
        f"{detail}; missing: {', '.join(prefix + m for m in missing)}",
        reason_code="travel_rule_data_missing",
        rule_id="R25",
    )
    error.errors = [
        FieldError(prefix + path, f"{path.split('.')[0]}: {_FIELD_HINTS[path.split('.')[1]]} is required (R25)")
        for path in missing
    ]
    raise error


def require_complete(body: TravelRuleIn | None, *, amount_fen: int, profile: RegimeProfile, wallet: str) -> None:
    """R25: from the threshold the request itself must carry the full set (422 naming each gap);
    an originator account given at any amount must be the `wallet` the tokens are burned from."""
    given = body.originator.account if body is not None else None
    if given is not None and parse_address(given, field="body.travel_rule.originator.account") != wallet:
        raise RuleRejected(
            f"the redemption burns tCNH from wallet {wallet}: the originator's account must be that wallet",
            reason_code="travel_rule_parties_mismatch",
            rule_id="R25",
            field="body.travel_rule.originator.account",
        )
    check = check_travel_rule(amount_fen, to_data(body), profile)
    if check.required:
        _refuse_missing(
            check.missing,
            prefix="body.travel_rule.",
            detail=f"from {format_fen(profile.travel_rule_threshold_fen)} CNH the travel rule needs the "
            "full originator and beneficiary data (name, account, address or ID number)",
        )


def _store(
    session: Session,
    *,
    kind: str,
    subject_id: str | None,
    tx_hash: str | None,
    amount_fen: int | None,
    data: TravelRuleData,
    required: bool,
    actor: str,
) -> TravelRuleRecord:
    record = repository.add(
        session,
        TravelRuleRecord(
            id=new_id("trr"),
            kind=kind,
            subject_id=subject_id,
            tx_hash=tx_hash.lower() if tx_hash else None,
            amount_fen=amount_fen,
            originator_json=json.dumps(data.originator.as_data(), sort_keys=True),
            beneficiary_json=json.dumps(data.beneficiary.as_data(), sort_keys=True),
            full_data_required=required,
            complete=data.complete(),
            created_by=actor,
            created_at=utc_now(),
        ),
        flush=kind == "transfer",  # a transfer's record stands alone: its errors show here
    )
    if kind != "transfer":
        return record  # written in the transaction of the mint or redemption, whose audit record covers it
    append_audit(
        session,
        actor=actor,
        action="travel_rule.recorded",
        entity_type="travel_rule_record",
        entity_id=record.id,
        data={
            "kind": kind,
            "subject_id": subject_id,
            "tx_hash": record.tx_hash,
            "amount_fen": amount_fen,
            "complete": record.complete,
            "full_data_required": required,
        },
        rule_ids=["R25"],
    )
    return record


def record_redemption(
    session: Session,
    *,
    redemption_id: str,
    wallet: str,
    amount_fen: int,
    customer: Customer,
    body: TravelRuleIn | None,
    profile: RegimeProfile,
    actor: str,
) -> TravelRuleRecord:
    """The holder pays tokens in and is paid fiat out: both sides are the customer unless the request
    names others. Blank fields are filled from the due-diligence file."""
    on_file = TravelRuleData(
        originator=Party(name=customer.name, account=wallet, id_number=customer.id),
        beneficiary=Party(name=customer.name, account=f"sandbox bank account of {customer.id}", id_number=customer.id),
    )
    given = to_data(body)  # its originator account, if any, is this wallet (require_complete): kept in EIP-55
    given = replace(given, originator=replace(given.originator, account=wallet))
    return _store(
        session,
        kind="redemption",
        subject_id=redemption_id,
        tx_hash=None,
        amount_fen=amount_fen,
        data=given.filled_from(on_file),
        required=full_data_required(amount_fen, profile),
        actor=actor,
    )


def record_mint(
    session: Session,
    *,
    mint_id: str,
    wallet: str,
    amount_fen: int,
    customer: Customer,
    profile: RegimeProfile,
    actor: str,
) -> TravelRuleRecord:
    """The issuer sends newly minted tokens to its own verified customer: the data is on file."""
    data = TravelRuleData(
        originator=ISSUER, beneficiary=Party(name=customer.name, account=wallet, id_number=customer.id)
    )
    return _store(
        session,
        kind="mint",
        subject_id=mint_id,
        tx_hash=None,
        amount_fen=amount_fen,
        data=data,
        required=full_data_required(amount_fen, profile),
        actor=actor,
    )


def record_seizure(
    session: Session,
    *,
    seizure_id: str,
    tx_hash: str | None,
    holder: Customer | None,
    holder_wallet: str,
    recovery_owner: Customer | None,
    recovery_wallet: str,
    amount_fen: int,
    profile: RegimeProfile,
    actor: str,
) -> TravelRuleRecord:
    """R24, R25: a seizure moves the frozen holder's tokens to the recovery wallet (burn, then
    re-mint): the service initiates that transfer, so it carries a record like any mint. The
    frozen holder is the originator, the recovery wallet's owner the beneficiary, both from the
    due-diligence file; `subject_id` is the seizure, whose legal basis says why; `tx_hash` links
    the re-mint on chain."""
    data = TravelRuleData(
        originator=_on_file(holder, holder_wallet), beneficiary=_on_file(recovery_owner, recovery_wallet)
    )
    return _store(
        session,
        kind="seizure",
        subject_id=seizure_id,
        tx_hash=tx_hash,
        amount_fen=amount_fen,
        data=data,
        required=full_data_required(amount_fen, profile),
        actor=actor,
    )


def link_seizure_tx(session: Session, *, seizure_id: str, tx_hash: str | None) -> TravelRuleRecord | None:
    """R25: once the re-mint is confirmed, its record names the transaction that moved the tokens."""
    record = repository.record_of(session, "seizure", seizure_id)
    if record is not None and tx_hash:
        record.tx_hash = tx_hash.lower()
    return record


def _on_file(customer: Customer | None, wallet: str) -> Party:
    if customer is None:  # pragma: no cover - every bound wallet has its customer
        return Party(account=wallet)
    return Party(name=customer.name, account=wallet, id_number=customer.id)


def create_record(session: Session, *, actor: Principal, body: TravelRuleRecordCreate) -> TravelRuleRecordOut:
    """Travel-rule data of an on-chain transfer; always the full set (this is how large transfers
    between customers are covered). A customer key records only transfers from its own wallets."""
    data = to_data(TravelRuleIn(originator=body.originator, beneficiary=body.beneficiary))
    _refuse_missing(
        data.missing(),
        prefix="body.",
        detail="a transfer's travel-rule record needs the full originator and beneficiary data",
    )
    originator = parse_address(data.originator.account or "", field="body.originator.account")
    beneficiary = parse_address(data.beneficiary.account or "", field="body.beneficiary.account")
    if actor.role == "customer":
        sender = wallets.get_by_address(session, originator)
        if sender is None or sender.customer_id != actor.customer_id:
            raise Forbidden(
                "a customer key records travel-rule data only for transfers from its own wallets",
                field="body.originator.account",
            )
    _check_transfer(session, body.tx_hash, originator, beneficiary)
    # Kept in EIP-55 form however typed: the records of one wallet read the same.
    data = replace(
        data,
        originator=replace(data.originator, account=originator),
        beneficiary=replace(data.beneficiary, account=beneficiary),
    )
    try:
        with session.begin_nested():  # a second record of the same transfer may be arriving right now
            record = _store(
                session,
                kind="transfer",
                subject_id=None,
                tx_hash=body.tx_hash,
                amount_fen=None,
                data=data,
                required=True,
                actor=actor.id,
            )
    except IntegrityError:
        _refuse_second_record(session, body.tx_hash)
        raise
    return record_out(record)


def _check_transfer(session: Session, tx_hash: str, originator: str, beneficiary: str) -> None:
    """R25: the record is of a real transfer, between the parties it names, and the first one."""
    moved = repository.transfers_in(session, tx_hash)
    if not moved:
        raise RuleRejected(
            f"no confirmed tCNH transfer in transaction {tx_hash} is indexed; record the data once the "
            "transfer is confirmed (the indexer follows confirmed blocks)",
            reason_code="transfer_not_found",
            rule_id="R25",
            field="body.tx_hash",
        )
    if (originator.lower(), beneficiary.lower()) not in {(f.lower(), t.lower()) for f, t in moved}:
        sender, receiver = moved[0]
        raise RuleRejected(
            f"transaction {tx_hash} moved tCNH from {sender} to {receiver}: the originator's and the "
            "beneficiary's accounts must be those wallets",
            reason_code="travel_rule_parties_mismatch",
            rule_id="R25",
            field="body.originator.account",
        )
    _refuse_second_record(session, tx_hash)


def _refuse_second_record(session: Session, tx_hash: str) -> None:
    """409 naming the record already kept for this transfer (R25: one per transfer)."""
    earlier = repository.transfer_record_of(session, tx_hash)
    if earlier is not None:
        raise Conflict(f"travel-rule data of transaction {tx_hash} is recorded already ({earlier.id})",
                       field="body.tx_hash")


def list_records(
    session: Session, *, tx_hash: str | None, kind: str | None, limit: int, cursor: str | None
) -> Page[TravelRuleRecordOut]:
    rows = repository.list_after(session, tx_hash=tx_hash, kind=kind, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda r: r.id)
    return Page[TravelRuleRecordOut](items=[record_out(r) for r in page], next_cursor=next_cursor)


def requirements(profile: RegimeProfile, amount_fen: int) -> RequirementsOut:
    required = full_data_required(amount_fen, profile)
    fields = (
        [
            f"travel_rule.{party}.{name}"
            for party in ("originator", "beneficiary")
            for name in ("name", "account", "address")
        ]
        if required
        else []
    )
    return RequirementsOut(
        amount=amount_fen,
        profile=profile.name,
        threshold=profile.travel_rule_threshold_fen,
        full_data_required=required,
        required_fields=fields,
    )


def transfer_findings(session: Session, profile: RegimeProfile, now: datetime) -> list[TransferFinding]:
    """R25: each indexed transfer between customer wallets at or above the threshold, and whether a
    record covers it within the profile's window."""
    rows = repository.customer_transfers(session, min_units=fen_to_units(profile.travel_rule_threshold_fen))
    transfers = [
        ObservedTransfer(tx_hash=h, block_number=b, from_address=f, to_address=t, amount_units=u, observed_at=at)
        for h, b, f, t, u, at in rows
    ]
    recorded = repository.first_record_at(session, (t.tx_hash for t in transfers))
    return assess_transfers(transfers, recorded, profile=profile, now=now)


def record_out(record: TravelRuleRecord) -> TravelRuleRecordOut:
    return TravelRuleRecordOut(
        id=record.id,
        kind=record.kind,
        subject_id=record.subject_id,
        tx_hash=record.tx_hash,
        amount=record.amount_fen,
        originator=PartyOut(**json.loads(record.originator_json)),
        beneficiary=PartyOut(**json.loads(record.beneficiary_json)),
        full_data_required=record.full_data_required,
        complete=record.complete,
        created_by=record.created_by,
        created_at=record.created_at,
    )
