"""Crediting a sandbox bank deposit: confirmed fiat becomes available to back mints (R10)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.money import MAX_BALANCE_FEN, format_fen
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customer_repository
from issuer_service.deposits import repository
from issuer_service.deposits.models import Deposit
from issuer_service.deposits.schemas import DepositCreate, DepositOut
from issuer_service.errors import Conflict, ValidationFailed
from issuer_service.fiat_accounts import service as fiat_accounts
from issuer_service.ids import new_id


def create_deposit(session: Session, *, actor: Principal, body: DepositCreate) -> DepositOut:
    if customer_repository.get(session, body.customer_id) is None:
        raise ValidationFailed(
            f"no customer {body.customer_id}; create it with POST /v1/customers first", field="body.customer_id"
        )
    # Lock the account first: deposits for one customer queue here, so the duplicate check below
    # cannot race with a concurrent deposit carrying the same bank reference.
    account = fiat_accounts.lock_account(session, body.customer_id)
    if account.available_fen + account.reserved_fen + body.amount > MAX_BALANCE_FEN:
        raise ValidationFailed(
            f"this deposit would take the customer's fiat balance above {format_fen(MAX_BALANCE_FEN)} CNH, "
            "the most one ledger balance holds; deposit less",
            field="body.amount",
        )
    repository.lock_reference(session, body.bank_reference)
    credited = repository.credited_with_reference(session, body.bank_reference)
    if credited is not None:  # R10: to this customer or any other
        whom = "this customer" if credited.customer_id == body.customer_id else "another customer"
        raise Conflict(
            f"bank_reference {body.bank_reference!r} was already credited to {whom} (deposit {credited.id}); "
            "a bank transfer is credited once",
            field="body.bank_reference",
        )
    deposit = repository.add(
        session,
        Deposit(
            id=new_id("dep"),
            customer_id=body.customer_id,
            amount_fen=body.amount,
            currency=body.currency,
            bank_reference=body.bank_reference,
            status="confirmed",
            created_at=utc_now(),
            created_by=actor.id,
        ),
    )
    account = fiat_accounts.credit(session, body.customer_id, body.amount)
    append_audit(
        session,
        actor=actor.id,
        action="deposit.confirmed",
        entity_type="deposit",
        entity_id=deposit.id,
        data={
            "customer_id": deposit.customer_id,
            "amount_fen": deposit.amount_fen,
            "currency": deposit.currency,
            "bank_reference": deposit.bank_reference,
            "available_fen_after": account.available_fen,
        },
        rule_ids=["R10"],
    )
    return DepositOut(
        id=deposit.id,
        customer_id=deposit.customer_id,
        amount=deposit.amount_fen,
        currency="CNH",
        bank_reference=deposit.bank_reference,
        status="confirmed",
        created_at=deposit.created_at,
    )
