"""All SQL of attestations, and the ledger reads a report needs at one block.

Every read here is bounded by a block number (never "now"), so building a report twice at the same
block reads the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, type_coerce
from sqlalchemy.orm import Session

from issuer_service.attestations.models import Attestation, AttestationLiability
from issuer_service.audit.models import AuditLogEntry
from issuer_service.enforcement.models import Seizure
from issuer_service.enforcement.repository import SEIZURE_ENTITY
from issuer_service.indexer.events import ZERO_ADDRESS
from issuer_service.indexer.models import ChainEvent
from issuer_service.indexer.repository import ExactUnits
from issuer_service.mints.models import Mint
from issuer_service.outbox.models import ChainTx
from issuer_service.redemptions.models import Redemption

_BURNED = ("burned", "paid")
_IN_FLIGHT = ("signed", "sent")
_INSERT_CHUNK = 5_000


# ---------------------------------------------------------------- attestations
def add(session: Session, attestation: Attestation, leaves: Sequence[tuple[str, int]]) -> Attestation:
    session.add(attestation)
    session.flush()
    for start in range(0, len(leaves), _INSERT_CHUNK):
        rows = [
            {"attestation_id": attestation.id, "leaf_index": start + i, "address": address, "balance_units": str(units)}
            for i, (address, units) in enumerate(leaves[start : start + _INSERT_CHUNK])
        ]
        session.execute(insert(AttestationLiability), rows)
    return attestation


def get(session: Session, attestation_id: str) -> Attestation | None:
    return session.get(Attestation, attestation_id)


def get_by_sha256(session: Session, sha256: str) -> Attestation | None:
    return session.execute(select(Attestation).where(Attestation.sha256 == sha256)).scalar_one_or_none()


def latest(session: Session) -> Attestation | None:
    """The report at the highest block (R52), the newest of those on a tie. Not the newest report:
    an auditor's spot check of an old block must not replace the figures the public sees."""
    stmt = (
        select(Attestation)
        .order_by(Attestation.as_of_block.desc(), Attestation.created_at.desc(), Attestation.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def list_page(session: Session, *, after_id: str | None, limit: int) -> list[Attestation]:
    stmt = select(Attestation).order_by(Attestation.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Attestation.id > after_id)
    return list(session.execute(stmt).scalars())


def leaves(session: Session, attestation_id: str) -> list[tuple[str, int]]:
    stmt = (
        select(AttestationLiability.address, AttestationLiability.balance_units)
        .where(AttestationLiability.attestation_id == attestation_id)
        .order_by(AttestationLiability.leaf_index)
    )
    return [(str(address), int(units)) for address, units in session.execute(stmt)]


# ---------------------------------------------------------------- the ledger at a block
def confirmed_mints_by_block(session: Session, *, up_to_block: int) -> list[tuple[int, int]]:
    """(block, fen minted) of mints confirmed on chain at or before the block."""
    stmt = (
        select(Mint.block_number, func.sum(Mint.amount_fen))
        .where(Mint.status == "confirmed", Mint.block_number <= up_to_block)
        .group_by(Mint.block_number)
        .order_by(Mint.block_number)
    )
    return [(int(block or 0), int(total)) for block, total in session.execute(stmt)]


def burned_redemptions(session: Session, *, up_to_block: int) -> list[Redemption]:
    """Redemptions whose burn is at or before the block; their payout is recorded with the burn (R16)."""
    stmt = (
        select(Redemption)
        .where(Redemption.status.in_(_BURNED), Redemption.block_number <= up_to_block)
        .order_by(Redemption.block_number, Redemption.id)
    )
    return list(session.execute(stmt).scalars())


def seizure_supply_deltas(session: Session, *, up_to_block: int) -> list[tuple[int, int]]:
    """(block, fen) of seizures' confirmed burns (negative) and re-mints (positive) at or before the
    block: the ledger's outstanding supply follows both (R16, R24); reserve cash moves with neither."""
    stmt = (
        select(ChainTx.block_number, ChainTx.function, Seizure.amount_fen)
        .join(Seizure, Seizure.id == ChainTx.entity_id)
        .where(
            ChainTx.entity_type == SEIZURE_ENTITY,
            ChainTx.status == "confirmed",
            ChainTx.block_number <= up_to_block,
        )
        .order_by(ChainTx.block_number)
    )
    return [
        (int(block), -int(amount) if function == "burnFrozen" else int(amount))
        for block, function, amount in session.execute(stmt)
    ]


def supply_deltas_by_block(session: Session, *, up_to_block: int) -> list[tuple[int, int]]:
    """(block, units minted − burned) from the indexed Transfer events at or before the block."""
    amount = type_coerce(ChainEvent.amount_units, ExactUnits())
    transfers = (ChainEvent.event == "Transfer", ChainEvent.block_number <= up_to_block)
    deltas: dict[int, int] = {}
    for sign, column in ((1, ChainEvent.from_address), (-1, ChainEvent.to_address)):
        stmt = (
            select(ChainEvent.block_number, func.sum(amount))
            .where(*transfers, column == ZERO_ADDRESS)
            .group_by(ChainEvent.block_number)
        )
        for block, total in session.execute(stmt):
            deltas[int(block)] = deltas.get(int(block), 0) + sign * int(total)
    return sorted(deltas.items())


def unconfirmed_txs_mined_by(session: Session, *, up_to_block: int) -> list[str]:
    """Outbox transactions the indexer has seen mined at or before the block that the worker has not
    confirmed yet: until it has, the ledger is behind the chain at that block."""
    mined = select(ChainEvent.tx_hash).where(ChainEvent.block_number <= up_to_block)
    stmt = select(ChainTx.id).where(ChainTx.status.in_(_IN_FLIGHT), ChainTx.tx_hash.in_(mined)).limit(10)
    return [str(row_id) for row_id in session.execute(stmt).scalars()]


def last_ledger_audit_seq(session: Session, *, up_to_block: int) -> int | None:
    """The newest audit record of a mint or redemption finished at or before the block."""
    mint_seq = session.scalar(
        select(func.max(Mint.last_audit_seq)).where(Mint.status == "confirmed", Mint.block_number <= up_to_block)
    )
    redemption_seq = session.scalar(
        select(func.max(Redemption.last_audit_seq)).where(
            Redemption.status == "paid", Redemption.block_number <= up_to_block
        )
    )
    seqs = [int(seq) for seq in (mint_seq, redemption_seq) if seq is not None]
    return max(seqs) if seqs else None


def audit_hash(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditLogEntry.hash).where(AuditLogEntry.seq == seq))
