"""What happens to the business object when its transaction is final.

Domains register a handler per entity type; the worker calls it in the same database transaction
that marks the outbox row final, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from issuer_service.outbox.models import ChainTx
from issuer_service.request_context import request_id_context

if TYPE_CHECKING:
    from issuer_service.chain.gateway import ChainGateway

WORKER = "worker"  # the audit actor of everything the outbox worker does
REVERTED = "reverted on chain"  # the failure reason `on_failed` gets for a mined, reverted transaction


@dataclass(frozen=True)
class OutboxHandler:
    on_confirmed: Callable[[Session, ChainTx], None]
    on_failed: Callable[[Session, ChainTx, str], None]
    # Called when the transaction is signed (its hash is known) and about to be sent.
    on_submitted: Callable[[Session, ChainTx], None] | None = None
    # Called instead of on_submitted when the row was signed again with a fresh nonce (its first
    # nonce went to another transaction): the business object records the new hash.
    on_resigned: Callable[[Session, ChainTx], None] | None = None
    # Called by the reorg repair when a confirmed transaction was mined again, same hash, in another
    # block: the business object records the block the chain has it in now (R16).
    on_moved: Callable[[Session, ChainTx], None] | None = None
    # Called once before the calls above for a batch of rows: lock their business objects in one
    # query, in a fixed order, instead of one query per row.
    lock_batch: Callable[[Session, Sequence[ChainTx]], None] | None = None
    # Called before a pending row is signed with the service's current keys: why the chain would
    # refuse it from them (the row then fails unsigned, nothing sent), or None to sign it.
    refuse_before_signing: Callable[[Session, ChainTx, ChainGateway], str | None] | None = None


_HANDLERS: dict[str, OutboxHandler] = {}


def register(entity_type: str, handler: OutboxHandler) -> None:
    _HANDLERS[entity_type] = handler


def handler_for(entity_type: str) -> OutboxHandler | None:
    return _HANDLERS.get(entity_type)


def lock_batch(session: Session, rows: Sequence[ChainTx]) -> None:
    """Let each domain lock the business objects of `rows` in one query before its handlers run."""
    by_type: dict[str, list[ChainTx]] = {}
    for row in rows:
        by_type.setdefault(row.entity_type, []).append(row)
    for entity_type, typed in sorted(by_type.items()):
        handler = _HANDLERS.get(entity_type)
        if handler is not None and handler.lock_batch is not None:
            handler.lock_batch(session, typed)


def on_behalf_of(row: ChainTx) -> AbstractContextManager[object]:
    """What the worker writes for `row` (audit records, log lines) carries the id of the API request
    that queued it, so one id follows a mint or redemption from request to confirmation. Rows
    without one (queued by a job, or before the id was kept) keep the worker job's id."""
    return request_id_context(row.request_id) if row.request_id else nullcontext()
