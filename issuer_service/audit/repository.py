"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from issuer_service.audit.models import HEAD_ID, AuditHead, AuditLogEntry
from issuer_service.db import lock_for_update

RECORD_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "data",
    "rule_ids",
    "request_id",
    "prev_hash",
    "hash",
)


def entry_to_record(entry: AuditLogEntry) -> dict[str, Any]:
    """The hashed record exactly as `compliance.audit_chain` sees it (one mapping for verify,
    export and the API, so they can never disagree)."""
    return {name: getattr(entry, name) for name in RECORD_FIELDS}


def lock_head(session: Session) -> AuditHead:
    # FOR UPDATE: concurrent appenders queue here, each sees the tip its predecessor committed.
    return session.execute(lock_for_update(select(AuditHead).where(AuditHead.id == HEAD_ID))).scalar_one()


def read_head(session: Session) -> AuditHead:
    return session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID)).scalar_one()


def insert_entries(session: Session, records: Sequence[dict[str, Any]]) -> None:
    """One bulk INSERT for a transaction's records (no entity objects: nothing reads them back in
    the transaction that writes them)."""
    session.execute(insert(AuditLogEntry), [{name: record[name] for name in RECORD_FIELDS} for record in records])


def list_entries(
    session: Session,
    *,
    after_seq: int,
    limit: int,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> list[AuditLogEntry]:
    stmt = select(AuditLogEntry).where(AuditLogEntry.seq > after_seq)
    if entity_type is not None:
        stmt = stmt.where(AuditLogEntry.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditLogEntry.entity_id == entity_id)
    if action is not None:
        stmt = stmt.where(AuditLogEntry.action == action)
    return list(session.execute(stmt.order_by(AuditLogEntry.seq).limit(limit)).scalars())


def iter_entries(session: Session, *, up_to_seq: int, chunk_size: int) -> Iterator[AuditLogEntry]:
    """Every entry with seq <= up_to_seq in order, fetched `chunk_size` rows at a time so memory
    stays flat however long the log grows."""
    after = 0
    while after < up_to_seq:
        chunk = list(
            session.execute(
                select(AuditLogEntry)
                .where(AuditLogEntry.seq > after, AuditLogEntry.seq <= up_to_seq)
                .order_by(AuditLogEntry.seq)
                .limit(chunk_size)
            ).scalars()
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].seq
        for entry in chunk:  # keep the identity map (and memory) from growing with the log
            session.expunge(entry)
