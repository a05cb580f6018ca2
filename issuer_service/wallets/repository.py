"""All SQL of wallets and wallet challenges."""

from __future__ import annotations

from datetime import datetime

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


# A signature is tried against this many of the newest open challenges (one recovery, or one ERC-1271
# call, each): asking for challenges again and again does not make a bind do more work.
OPEN_CHALLENGES_TRIED = 5


def open_challenges(session: Session, customer_id: str, address: str, *, now: datetime) -> list[WalletChallenge]:
    """The customer's newest unused, unexpired challenges for the address (`OPEN_CHALLENGES_TRIED`
    at most), newest first (locked)."""
    stmt = (
        select(WalletChallenge)
        .where(WalletChallenge.customer_id == customer_id, WalletChallenge.address == address,
               WalletChallenge.used_at.is_(None), WalletChallenge.expires_at >= now)
        .order_by(WalletChallenge.created_at.desc())
        .limit(OPEN_CHALLENGES_TRIED)
    )
    return list(session.execute(lock_for_update(stmt)).scalars())


def has_unused_challenge(session: Session, customer_id: str, address: str) -> bool:
    stmt = select(WalletChallenge.id).where(WalletChallenge.customer_id == customer_id,
                                            WalletChallenge.address == address,
                                            WalletChallenge.used_at.is_(None)).limit(1)
    return session.execute(stmt).first() is not None
