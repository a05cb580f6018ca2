"""What happens to the business object when its transaction is final.

Domains register a handler per entity type; the worker calls it in the same database transaction
that marks the outbox row final, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from issuer_service.outbox.models import ChainTx


@dataclass(frozen=True)
class OutboxHandler:
    on_confirmed: Callable[[Session, ChainTx], None]
    on_failed: Callable[[Session, ChainTx, str], None]
    # Called when the transaction is signed (its hash is known) and about to be sent.
    on_submitted: Callable[[Session, ChainTx], None] | None = None


_HANDLERS: dict[str, OutboxHandler] = {}


def register(entity_type: str, handler: OutboxHandler) -> None:
    _HANDLERS[entity_type] = handler


def handler_for(entity_type: str) -> OutboxHandler | None:
    return _HANDLERS.get(entity_type)
