"""All SQL of wallets and wallet challenges."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.wallets.models import Wallet, WalletChallenge


def get(session: Session, wallet_id: str, *, lock: bool = False) -> Wallet | None:
    stmt = select(Wallet).where(Wallet.id == wallet_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def get_by_address(session: Session, address: str, *, lock: bool = False) -> Wallet | None:
    stmt = select(Wallet).where(Wallet.address == address)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def get_held_by_address(session: Session, address: str) -> Wallet | None:
    """The wallet, share-locked to the end of the transaction: a freeze (which locks the row to
    record its hold) cannot commit between this read and this commit (PostgreSQL)."""
    stmt = select(Wallet).where(Wallet.address == address).with_for_update(read=True)
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def add(session: Session, wallet: Wallet) -> Wallet:
    session.add(wallet)
    session.flush()
    return wallet


def list_for_customer(session: Session, customer_id: str) -> list[Wallet]:
    stmt = select(Wallet).where(Wallet.customer_id == customer_id).order_by(Wallet.created_at)
    return list(session.execute(stmt).scalars())


def add_challenge(session: Session, challenge: WalletChallenge) -> WalletChallenge:
    session.add(challenge)
    session.flush()
    return challenge


def latest_open_challenge(session: Session, customer_id: str, address: str) -> WalletChallenge | None:
    stmt = (
        select(WalletChallenge)
        .where(WalletChallenge.customer_id == customer_id, WalletChallenge.address == address,
               WalletChallenge.used_at.is_(None))
        .order_by(WalletChallenge.created_at.desc())
        .limit(1)
    )
    return session.execute(lock_for_update(stmt)).scalar_one_or_none()
