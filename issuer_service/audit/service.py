"""Writing and checking the audit chain (R50, R51)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from compliance.audit_chain import canonical_json, make_record, verify_chain
from issuer_service.audit import repository
from issuer_service.audit.schemas import AuditRecord, AuditVerification
from issuer_service.clock import iso_utc, utc_now
from issuer_service.db import every_commit, run_at_commit_steps
from issuer_service.pagination import Page, decode_cursor, foreign_cursor, page_of
from issuer_service.request_context import current_request_id

SYSTEM_ACTOR = "system"
VERIFY_CHUNK = 1000
EXPORT_CHUNK = 1000


@dataclass
class _Pending:
    fields: dict[str, Any]
    on_written: Callable[[int], None] | None
    data_at_commit: Callable[[], Mapping[str, Any]] | None = None


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    data: Mapping[str, Any],
    rule_ids: Sequence[str] = (),
    on_written: Callable[[int], None] | None = None,
    data_at_commit: Callable[[], Mapping[str, Any]] | None = None,
) -> None:
    """Append one record in the caller's transaction (R50): it commits or rolls back together
    with the state change it describes. Never commits. `data` must be canonical-JSON-able (no
    floats: amounts are int fen) and must never hold secrets.

    The record is chained when the transaction commits (`before_commit`), after everything else in
    it: the chain head is one row every appender locks, so holding it only for the commit keeps
    concurrent requests from queueing behind each other's whole transaction. Records keep the
    order they were appended in. `on_written(seq)` runs once the record has its place, still
    inside the transaction (e.g. to store the seq on the object it describes). `data_at_commit()`
    adds to `data` the figures that are only final at commit (after the `db.at_commit` steps)."""
    fields: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "data": dict(data),
        "rule_ids": list(rule_ids),
        "request_id": current_request_id(),
    }
    canonical_json(fields)  # refuse a float or a non-JSON value here, where the caller can see it
    session.info.setdefault(_PENDING, []).append(_Pending(fields, on_written, data_at_commit))


def append_audit_now(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    data: Mapping[str, Any],
    rule_ids: Sequence[str] = (),
) -> AuditRecord:
    """`append_audit`, chained at once (after any records still pending in this transaction), for
    callers that need the record's seq before the transaction ends. Holds the chain head until
    the transaction ends: use it on rare paths only."""
    append_audit(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        data=data,
        rule_ids=rule_ids,
    )
    return AuditRecord.model_validate(write_pending_audit(session)[-1])


def write_pending_audit(session: Session) -> list[dict[str, Any]]:
    """Chain this transaction's pending records now: lock the head, insert them in order, move it.
    Returns the records as hashed. The transaction's `at_commit` steps run first: a record may
    carry figures only they make final (`data_at_commit`)."""
    run_at_commit_steps(session)
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return []
    complete = [
        item.fields
        if item.data_at_commit is None
        else {**item.fields, "data": {**item.fields["data"], **item.data_at_commit()}}
        for item in pending
    ]
    session.flush()  # the state changes first, so the head is locked for as short a time as possible
    head = repository.lock_head(session)
    at = iso_utc(utc_now())
    records: list[dict[str, Any]] = []
    seq, prev_hash = head.seq, head.hash
    for item, fields in zip(pending, complete, strict=True):
        seq += 1
        record = make_record(prev_hash, seq, at=at, **fields)
        prev_hash = str(record["hash"])
        records.append(record)
        if item.on_written is not None:
            item.on_written(seq)
    repository.insert_entries(session, records)
    head.seq, head.hash = seq, prev_hash
    session.flush()
    return records


_PENDING = "cnh.audit.pending"


@every_commit
def _chain_pending_records(session: Session) -> None:
    write_pending_audit(session)  # after the transaction's own commit steps (db.at_commit)


_MARKS = "cnh.audit.savepoint_marks"


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:  # records appended inside a savepoint go if it is rolled back
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_records(session: Session, previous_transaction: SessionTransaction) -> None:
    mark = session.info.get(_MARKS, {}).get(previous_transaction)
    if previous_transaction.nested and mark is not None:
        del session.info.get(_PENDING, [])[mark:]
    elif previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_savepoints(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # (a savepoint's own end comes before its soft-rollback event)
        session.info.pop(_MARKS, None)
        session.info.pop(_PENDING, None)  # committed already, or the transaction was abandoned


def list_audit(
    session: Session,
    *,
    limit: int,
    cursor: str | None,
    entity_type: str | None,
    entity_id: str | None,
    action: str | None,
) -> Page[AuditRecord]:
    after = decode_cursor(cursor)
    if after is not None and not (after.isascii() and after.isdigit() and int(after) < 2**63):  # a BIGINT seq
        raise foreign_cursor()
    entries = repository.list_entries(
        session,
        after_seq=int(after or 0),
        limit=limit + 1,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
    )
    page, next_cursor = page_of(entries, limit, key=lambda entry: str(entry.seq))
    return Page[AuditRecord](
        items=[AuditRecord.model_validate(repository.entry_to_record(e)) for e in page], next_cursor=next_cursor
    )


def verify_audit_log(session: Session) -> AuditVerification:
    """Recompute every hash and link from the first record to the stored head (R50)."""
    head = repository.read_head(session)
    records = (
        repository.entry_to_record(entry)
        for entry in repository.iter_entries(session, up_to_seq=head.seq, chunk_size=VERIFY_CHUNK)
    )
    result = verify_chain(records)
    if result.ok and (result.entries != head.seq or result.head_hash != head.hash):
        # The records chain correctly but end before the stored head: the newest were removed.
        return AuditVerification(
            ok=False,
            entries=result.entries,
            head_hash=result.head_hash,
            first_bad_seq=result.entries + 1,
            reason=f"records end at seq {result.entries} but the chain head is seq {head.seq}",
        )
    reason = None
    if not result.ok:
        reason = f"{result.reason}: {result.detail}" if result.detail else result.reason
    return AuditVerification(
        ok=result.ok,
        entries=result.entries,
        head_hash=result.head_hash,
        first_bad_seq=result.first_bad_seq,
        reason=reason,
    )


def export_head(session: Session) -> tuple[int, str]:
    """The head an export runs up to: its last record's sequence number and hash."""
    head = repository.read_head(session)
    return head.seq, head.hash


def export_lines(make_session: sessionmaker[Session], up_to_seq: int) -> Iterator[bytes]:
    """The whole log as JSON lines, up to `up_to_seq` (the head at the start of the export).

    Runs after the request's own transaction has ended, one short transaction per chunk, so a long
    export never holds SQLite's write lock (or a PostgreSQL snapshot) for its whole duration.
    Records up to the head are immutable (R51), so reading them in pieces is consistent.
    """
    after = 0
    while after < up_to_seq:
        with make_session() as session:
            entries = repository.list_entries(session, after_seq=after, limit=EXPORT_CHUNK)
            chunk = [repository.entry_to_record(e) for e in entries if e.seq <= up_to_seq]
        if not chunk:
            return
        for record in chunk:
            # Canonical JSON: an offline verifier can hash each line's bytes as they are.
            yield canonical_json(record) + b"\n"
        after = chunk[-1]["seq"]
