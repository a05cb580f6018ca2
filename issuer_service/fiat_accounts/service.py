"""Moving fiat between a customer's available and reserved balances, always under the account's
row lock so concurrent mints cannot both spend the same fen (toolchain.md: check-then-write
over-mints without the lock).

These functions do not write audit records: the use case that calls them (a deposit, a mint
transition) records the movement in its own audit record, in the same transaction (R50).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance import decision as codes
from compliance.money import format_fen
from issuer_service.clock import utc_now
from issuer_service.db import once_per_transaction
from issuer_service.errors import NotFound, RuleRejected
from issuer_service.fiat_accounts import repository
from issuer_service.fiat_accounts.models import FiatAccount
from issuer_service.fiat_accounts.schemas import BalanceOut


def open_account(session: Session, customer_id: str) -> FiatAccount:
    return repository.add(
        session, FiatAccount(customer_id=customer_id, available_fen=0, reserved_fen=0, updated_at=utc_now())
    )


def lock_account(session: Session, customer_id: str) -> FiatAccount:
    """The account, locked until the transaction ends (locked once per transaction)."""
    account = once_per_transaction(
        session, ("fiat_account", customer_id), lambda: repository.lock(session, customer_id)
    )
    if account is None:
        raise NotFound(f"customer {customer_id} has no fiat account")
    return account


def _positive(amount_fen: int) -> int:
    if type(amount_fen) is not int or amount_fen <= 0:
        raise ValueError(f"amount_fen must be a positive int, got {amount_fen!r}")
    return amount_fen


def credit(session: Session, customer_id: str, amount_fen: int) -> FiatAccount:
    """Confirmed fiat arrived (a deposit): it becomes available."""
    account = lock_account(session, customer_id)
    account.available_fen += _positive(amount_fen)
    account.updated_at = utc_now()
    return account


def get_account(session: Session, customer_id: str) -> FiatAccount:
    """The account as last committed, unlocked: a first look; money moves only under `lock_account`."""
    account = repository.get(session, customer_id)
    if account is None:
        raise NotFound(f"customer {customer_id} has no fiat account")
    return account


def reserve(session: Session, customer_id: str, amount_fen: int) -> FiatAccount:
    """Allocate available fiat to a mint in flight (R10); refused if there is not enough."""
    account = lock_account(session, customer_id)
    allocate(account, amount_fen)
    return account


def allocate(account: FiatAccount, amount_fen: int) -> None:
    """`reserve` on an account the caller has locked."""
    if account.available_fen < _positive(amount_fen):
        raise RuleRejected(
            f"confirmed fiat available is {format_fen(account.available_fen)} CNH, less than "
            f"{format_fen(amount_fen)}; deposit more first",
            reason_code=codes.INSUFFICIENT_FIAT,
            rule_id="R10",
            field="body.amount",
        )
    account.available_fen -= amount_fen
    account.reserved_fen += amount_fen
    account.updated_at = utc_now()


def release(session: Session, customer_id: str, amount_fen: int) -> FiatAccount:
    """A mint failed or was rejected after reserving: the fiat is available again."""
    account = _take_reserved(session, customer_id, amount_fen)
    account.available_fen += amount_fen
    return account


def settle_reserved(session: Session, customer_id: str, amount_fen: int) -> FiatAccount:
    """A mint was confirmed on chain: the reserved fiat now backs tokens and leaves the account."""
    return _take_reserved(session, customer_id, amount_fen)


def _take_reserved(session: Session, customer_id: str, amount_fen: int) -> FiatAccount:
    account = lock_account(session, customer_id)
    if account.reserved_fen < _positive(amount_fen):
        # A bug in the caller, not a user error: it is releasing more than it reserved.
        raise RuntimeError(
            f"customer {customer_id}: cannot take {amount_fen} fen from reserved {account.reserved_fen} fen"
        )
    account.reserved_fen -= amount_fen
    account.updated_at = utc_now()
    return account


def get_balance(session: Session, customer_id: str) -> BalanceOut:
    account = repository.get(session, customer_id)
    if account is None:
        raise NotFound(f"customer {customer_id} not found")
    return BalanceOut(available=account.available_fen, reserved=account.reserved_fen)
