"""Reorg repair: a confirmed transaction whose block left the canonical chain is re-sent.

The indexer notices a reorg from its side (events, R16); this step looks from the outbox's side.
Every few seconds it checks the confirmed transactions of the recent window against the chain:
- still mined in the same block: nothing to do;
- mined in another block (the reorg re-included it): record the new block;
- not mined any more: re-broadcast the stored signed bytes. Same nonce, same hash, so it can only
  be included once — the business record (already confirmed) is never doubled;
- not mined and its nonce taken by another transaction: it can never be included again; the row
  is marked and an audit record raises the alarm (reconciliation will show the gap).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer_service.audit.service import append_audit
from issuer_service.chain.gateway import ChainGateway
from issuer_service.clock import utc_now
from issuer_service.outbox import repository
from issuer_service.outbox.handlers import WORKER, handler_for, on_behalf_of
from issuer_service.outbox.models import ChainTx

log = logging.getLogger("issuer_service.worker")


class ReorgRepair:
    def __init__(
        self, sessions: sessionmaker[Session], gateway: ChainGateway, *, window_blocks: int = 64, every_s: float = 3.0
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.window_blocks = window_blocks
        self.every_s = every_s
        self._last = 0.0

    def step(self) -> int:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return 0
        self._last = now
        return self.check()

    def check(self) -> int:
        """Read the window, ask the node with no transaction open, then repair the rows still as
        they were read (another worker may have repaired one meanwhile)."""
        head = self.gateway.head()
        with self.sessions.begin() as session:
            stmt = (
                select(ChainTx)
                .where(ChainTx.status == "confirmed", ChainTx.block_number > head - self.window_blocks)
                # Original order across signers: an attestation must land before the mint it covers.
                .order_by(ChainTx.block_number, ChainTx.sent_at, ChainTx.id)
            )
            window = [
                (r.id, r.tx_hash or "", r.block_number, r.block_hash, r.raw_tx or b"") for r in session.scalars(stmt)
            ]
        if not window:
            return 0
        receipts = self.gateway.receipts([tx_hash for _, tx_hash, _, _, _ in window])  # one batch for the window
        # Re-sent after a reorg and not mined yet: still in the node's pool?
        pending = {
            tx_hash: self.gateway.is_pending(tx_hash)
            for _, tx_hash, _, block_hash, _ in window
            if receipts.get(tx_hash) is None and block_hash is None
        }
        # Not mined any more (and not waiting in the pool): send the same bytes again. Harmless if
        # another worker repaired the row meanwhile: same nonce, same hash, included at most once.
        resent = {
            tx_hash: self.gateway.broadcast(raw_tx)
            for _, tx_hash, _, block_hash, raw_tx in window
            if receipts.get(tx_hash) is None and not (block_hash is None and pending.get(tx_hash, False))
        }
        repaired = 0
        with self.sessions.begin() as session:
            current = repository.lock_by_id(session, [row_id for row_id, _, _, _, _ in window])
            for row_id, tx_hash, block_number, block_hash, _ in window:
                row = current.get(row_id)
                if row is None or (row.status, row.tx_hash, row.block_number, row.block_hash) != (
                    "confirmed",
                    tx_hash,
                    block_number,
                    block_hash,
                ):
                    continue
                outcome = receipts.get(tx_hash)
                mined = None if outcome is None else (outcome.block_number, outcome.block_hash, outcome.success)
                repaired += self._repair(
                    session, row, mined, pending=pending.get(tx_hash, False), resent=resent.get(tx_hash)
                )
        return repaired

    def _repair(
        self,
        session: Session,
        row: ChainTx,
        mined: tuple[int, str, bool] | None,
        *,
        pending: bool,
        resent: str | None,
    ) -> int:
        """`mined`: (block, block hash, succeeded) of the transaction's receipt now, or None;
        `pending`: the node holds it unmined (asked only for a row already re-sent); `resent`: the
        node's answer to the bytes sent again, when they were."""
        assert row.tx_hash is not None and row.raw_tx is not None
        if mined is not None and mined[:2] == (row.block_number, row.block_hash):
            return 0
        if mined is None and row.block_hash is None and pending:
            return 0  # re-sent already, waiting to be mined
        if mined is not None:
            old_block = row.block_number
            row.block_number, row.block_hash, row.updated_at = mined[0], mined[1], utc_now()
            if not mined[2]:  # re-included but reverted this time: the confirmed effect is gone
                row.last_error = "re-included after a reorg but reverted"
                self._audit(session, row, "chain_tx.reorg_lost", {"old_block": old_block, "new_block": mined[0]})
                log.error("reorg: %s (%s) reverted when re-included", row.id, row.function)
                return 1
            handler = handler_for(row.entity_type)
            if handler is not None and handler.on_moved is not None:
                handler.on_moved(session, row)  # before the audit head lock, as the worker's handlers
            self._audit(session, row, "chain_tx.reorg_moved", {"old_block": old_block, "new_block": mined[0]})
            return 1
        if resent is None:  # pragma: no cover - the row matched its snapshot, so it was sent again
            return 0
        if resent in ("sent", "known"):
            log.warning("reorg dropped %s (%s nonce %s); re-sent", row.id, row.function, row.nonce)
            self._audit(session, row, "chain_tx.reorg_resent", {"old_block": row.block_number})
            # The old block number keeps it in the window; the next check records where it lands.
            row.block_hash = None
            return 1
        row.last_error = "dropped by a reorg and its nonce was used by another transaction"
        self._audit(session, row, "chain_tx.reorg_lost", {"old_block": row.block_number})
        log.error("reorg lost %s (%s nonce %s): its nonce was reused", row.id, row.function, row.nonce)
        return 1

    def _audit(self, session: Session, row: ChainTx, action: str, data: dict[str, object]) -> None:
        with on_behalf_of(row):
            self._append(session, row, action, data)

    @staticmethod
    def _append(session: Session, row: ChainTx, action: str, data: dict[str, object]) -> None:
        append_audit(
            session,
            actor=WORKER,
            action=action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            data={"chain_tx_id": row.id, "function": row.function, "tx_hash": row.tx_hash, "nonce": row.nonce, **data},
            rule_ids=["R16"],
        )
