"""All SQL of freeze holds and seizures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer_service.db import lock_for_update
from issuer_service.enforcement.models import Seizure, WalletFreeze
from issuer_service.outbox.models import ChainTx

FREEZE_ENTITY = "wallet_freeze"
SEIZURE_ENTITY = "seizure"
SEIZURE_IN_FLIGHT = ("pending_approval", "approved", "burn_submitted", "burned", "remint_submitted")


def add(session: Session, row: WalletFreeze | Seizure) -> None:
    session.add(row)
    session.flush()


def holds(session: Session, wallet_id: str, *, unlifted_only: bool = True) -> list[WalletFreeze]:
    stmt = select(WalletFreeze).where(WalletFreeze.wallet_id == wallet_id)
    if unlifted_only:
        stmt = stmt.where(WalletFreeze.lifted_at.is_(None))
    return list(session.execute(stmt.order_by(WalletFreeze.created_at, WalletFreeze.id)).scalars())


def holds_of_case(session: Session, case_id: str) -> list[WalletFreeze]:
    stmt = select(WalletFreeze).where(WalletFreeze.case_id == case_id, WalletFreeze.lifted_at.is_(None))
    return list(session.execute(stmt).scalars())


def wallets_held(session: Session) -> list[str]:
    """Ids of wallets with at least one unlifted hold."""
    stmt = select(WalletFreeze.wallet_id).where(WalletFreeze.lifted_at.is_(None)).distinct()
    return [str(wallet_id) for wallet_id in session.execute(stmt).scalars()]


def latest_freeze_tx(session: Session, wallet_id: str) -> ChainTx | None:
    """The newest freeze/unfreeze transaction of a wallet that did not fail: where the chain is
    heading. None when the service never sent one."""
    stmt = (
        select(ChainTx)
        .where(ChainTx.entity_type == FREEZE_ENTITY, ChainTx.entity_id == wallet_id, ChainTx.status != "failed")
        .order_by(ChainTx.created_at.desc(), ChainTx.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def get_seizure(session: Session, seizure_id: str, *, lock: bool = False) -> Seizure | None:
    stmt = select(Seizure).where(Seizure.id == seizure_id)
    return session.execute(lock_for_update(stmt) if lock else stmt).scalar_one_or_none()


def seizure_in_flight(session: Session, wallet_id: str) -> Seizure | None:
    stmt = select(Seizure).where(Seizure.wallet_id == wallet_id, Seizure.status.in_(SEIZURE_IN_FLIGHT)).limit(1)
    return session.execute(stmt).scalar_one_or_none()


def list_seizures(session: Session, *, after_id: str | None, limit: int) -> list[Seizure]:
    stmt = select(Seizure).order_by(Seizure.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Seizure.id > after_id)
    return list(session.execute(stmt).scalars())
