"""Writing and checking the audit chain (R50, R51)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from compliance.audit_chain import canonical_json, make_record, verify_chain
from issuer_service.audit import repository
from issuer_service.audit.schemas import AuditRecord, AuditVerification
from issuer_service.clock import iso_utc, utc_now
from issuer_service.errors import ValidationFailed
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.request_context import current_request_id

SYSTEM_ACTOR = "system"
VERIFY_CHUNK = 1000
EXPORT_CHUNK = 1000


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    data: Mapping[str, Any],
    rule_ids: Sequence[str] = (),
) -> AuditRecord:
    """Append one record in the caller's transaction (R50): it commits or rolls back together
    with the state change it describes. Never commits. `data` must be canonical-JSON-able (no
    floats: amounts are int fen) and must never hold secrets."""
    head = repository.lock_head(session)
    seq = head.seq + 1
    record = make_record(
        head.hash,
        seq,
        at=iso_utc(utc_now()),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        data=dict(data),
        rule_ids=list(rule_ids),
        request_id=current_request_id(),
    )
    repository.insert_entry(session, record)
    head.seq, head.hash = seq, str(record["hash"])
    session.flush()
    return AuditRecord.model_validate(record)


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
    if after is not None and not after.isdigit():
        raise ValidationFailed("cursor is not one this API issued", field="query.cursor")
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


def export_lines(make_session: sessionmaker[Session]) -> Iterator[bytes]:
    """The whole log as JSON lines, up to the head at the start of the export.

    Runs after the request's own transaction has ended, one short transaction per chunk, so a long
    export never holds SQLite's write lock (or a PostgreSQL snapshot) for its whole duration.
    Records up to the head are immutable (R51), so reading them in pieces is consistent.
    """
    with make_session() as session:
        up_to_seq = repository.read_head(session).seq
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
