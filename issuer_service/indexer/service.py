"""The chain indexer: follows the token's Transfer and Redeemed events into `chain_events`,
survives reorgs, and reconciles the supply on chain with the service ledger (R16).

- `Indexer.step()` runs inside the outbox worker's loop. Each call reads the cursor, asks the node
  with no transaction open, then stores what it read under a row lock on the cursor if the cursor
  has not moved meanwhile, so several worker processes never index a range twice.
- Only blocks with the configured confirmations are read (`head - (confirmations - 1)`).
- A reorg is noticed when the stored hash of the cursor block no longer matches the chain; the
  indexer rewinds to the newest stored block the chain still has, drops the events above it, and
  writes an `indexer.reorg` audit record (R16, R50).
- `reconciliation_status()` and `holder_balances()` read only the database, so readiness and the
  proof of liabilities (R54) never wait for the node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from compliance.money import fen_to_units
from issuer_service.audit.service import SYSTEM_ACTOR, append_audit
from issuer_service.chain.gateway import ChainGateway
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict
from issuer_service.indexer import repository
from issuer_service.indexer.events import event_row, outbox_supply_units, supply_change
from issuer_service.indexer.models import IndexerCursor
from issuer_service.reserves import repository as reserve_repository

log = logging.getLogger("issuer_service.indexer")
reconciliation_log = logging.getLogger("issuer_service.reconciliation")

# How many stored event blocks a rewind checks against the chain before it gives up: a reorg
# deeper than this on a chain with finality means the node is wrong, and an operator must look.
MAX_REORG_CHECKS = 128
MAX_AUDITED_TX_HASHES = 100  # keeps one audit record small however deep the reorg was


class ReorgTooDeep(RuntimeError):
    """None of the newest stored event blocks is on the chain any more; nothing was changed."""


class BlockNotIndexed(Conflict):
    """A read asked for a block the indexer has not reached yet."""

    def __init__(self, at_block: int, indexed_block: int | None) -> None:
        reached = "has not run yet" if indexed_block is None else f"has reached block {indexed_block}"
        super().__init__(f"block {at_block} is not indexed yet: the indexer {reached}; "
                         "ask again once it has caught up", reason_code="block_not_indexed")


@dataclass(frozen=True)
class ReconciliationStatus:
    ok: bool
    detail: str
    chain_supply_units: int | None  # None until the indexer has run
    ledger_supply_units: int
    indexed_block: int
    unexplained: int


@dataclass(frozen=True)
class _ChainRead:
    """One step's reading of the node: new logs up to a block, a reorg below the cursor, or
    nothing to store (`behind`: read again at once)."""

    reorged: bool = False
    behind: bool = False
    to_block: int = 0
    to_hash: str | None = None
    logs: Sequence[Mapping[str, Any]] | None = None


class Indexer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: ChainGateway,
        *,
        batch_blocks: int = 2000,
        min_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_blocks < 1:
            raise ValueError("batch_blocks must be at least 1")
        self.sessions = sessions
        self.gateway = gateway
        self.batch_blocks = batch_blocks
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._next_run_at = float("-inf")

    @property
    def start_block(self) -> int:
        """No token event can be older than the deployment."""
        return self.gateway.deployment.block_number

    def step(self) -> int:
        """Index the next batch of confirmed blocks; returns how many events were stored.

        The worker calls this in a tight loop, so when the indexer is caught up it waits
        `min_interval_s` before asking the node again, and then costs two RPCs (head, cursor hash).
        The cursor is read in one short transaction, the node is asked with none open, and what it
        said is stored in a second transaction holding the cursor's row lock, only if the cursor is
        still where it was read (several worker processes never index a range twice, and a slow
        node holds no lock that API requests need: on SQLite, the database's write lock).
        """
        now = self._clock()
        if now < self._next_run_at:
            return 0
        self._next_run_at = now + self.min_interval_s
        safe_head = self.gateway.head() - (self.gateway.confirmations - 1)
        with self.sessions.begin() as session:
            cursor = repository.lock_or_create_cursor(session, last_block=self.start_block - 1)
            seen = (cursor.last_block, cursor.last_block_hash)
        read = self._read(seen, safe_head)
        with self.sessions.begin() as session:
            # The row lock serialises indexers in all processes: a second one waits here, then
            # finds the cursor moved past what it read, and reads again.
            cursor = repository.lock_or_create_cursor(session, last_block=self.start_block - 1)
            if (cursor.last_block, cursor.last_block_hash) != seen:
                stored, behind = 0, True
            elif read.reorged:
                self._rewind(session, cursor)
                stored, behind = 0, True
            elif read.logs is None:
                stored, behind = 0, read.behind
            else:
                stored = self._store(session, cursor.last_block + 1, read.to_block, read.logs)
                cursor.last_block, cursor.last_block_hash, cursor.updated_at = read.to_block, read.to_hash, utc_now()
                behind = read.to_block < safe_head
        if behind:  # more to read (batch limit, rewind, moving chain): no pause before the next call
            self._next_run_at = now
        return stored

    # ------------------------------------------------------------------ indexing
    def _read(self, seen: tuple[int, str | None], safe_head: int) -> _ChainRead:
        """What the node says past the cursor (`seen`: its block and that block's stored hash)."""
        last_block, last_hash = seen
        to_block = min(safe_head, last_block + self.batch_blocks)
        if to_block <= last_block:
            # Nothing new, but a reorg can replace blocks without the head moving.
            reorged = self._reorged(seen)
            return _ChainRead(reorged=reorged, behind=reorged)
        # The hash of `to_block` is read before the cursor check and the logs and again after:
        # a reorg reaching any block <= to_block replaces to_block too, so equal reads mean the
        # cursor check and the logs saw one and the same chain.
        to_hash = self.gateway.block_hash(to_block)
        if to_hash is None:
            return _ChainRead(behind=True)
        if self._reorged(seen):
            return _ChainRead(reorged=True, behind=True)
        logs = self.gateway.token_logs(last_block + 1, to_block)
        if self.gateway.block_hash(to_block) != to_hash:
            return _ChainRead(behind=True)  # the chain reorganised while we read: nothing stored, read again
        return _ChainRead(to_block=to_block, to_hash=to_hash, logs=logs)

    def _reorged(self, seen: tuple[int, str | None]) -> bool:
        last_block, last_hash = seen
        return last_hash is not None and self.gateway.block_hash(last_block) != last_hash

    def _store(self, session: Session, from_block: int, to_block: int, logs: Sequence[Mapping[str, Any]]) -> int:
        known = repository.stored_event_keys(session, from_block=from_block, to_block=to_block)
        fresh = [e for e in logs if (e["block_hash"], e["log_index"]) not in known]
        # R16: a supply change is explained only by an outbox row of the service with its tx hash.
        functions = repository.supply_functions_by_tx(session, (e["tx_hash"] for e in fresh if supply_change(e)))
        now = utc_now()
        rows = [event_row(e, explaining_function=functions.get(e["tx_hash"]), now=now) for e in fresh]
        repository.insert_events(session, rows)
        for row in rows:
            if row["explained"] is False:
                log.warning("supply change in tx %s matches no service transaction (R16)", row["tx_hash"],
                            extra={"fields": {"event": "unexplained_supply_change", "tx_hash": row["tx_hash"],
                                              "block_number": row["block_number"],
                                              "amount_units": row["amount_units"]}})
        return len(rows)

    # ------------------------------------------------------------------ reorgs
    def _rewind(self, session: Session, cursor: IndexerCursor) -> None:
        from_block = cursor.last_block
        to_block, to_hash = self._last_agreed_block(session, below=from_block)
        dropped, tx_hashes = repository.delete_events_after(session, to_block)
        cursor.last_block, cursor.last_block_hash, cursor.updated_at = to_block, to_hash, utc_now()
        data = {"from_block": from_block, "to_block": to_block, "depth": from_block - to_block,
                "dropped_events": dropped, "dropped_tx_hashes": tx_hashes[:MAX_AUDITED_TX_HASHES]}
        # R16/R50: the events leave chain_events (they describe a chain that no longer exists);
        # the audit record keeps what was dropped and why.
        append_audit(session, actor=SYSTEM_ACTOR, action="indexer.reorg", entity_type="indexer",
                     entity_id=cursor.id, data=data, rule_ids=["R16"])
        log.warning("chain reorganised: indexer rewound from block %s to %s, %s events dropped",
                    from_block, to_block, dropped, extra={"fields": {"event": "indexer_reorg", **data}})

    def _last_agreed_block(self, session: Session, *, below: int) -> tuple[int, str | None]:
        """The newest block under `below` holding stored events whose hash the chain still has.

        Blocks without events have no stored hash, so the rewind may go further back than the
        fork; re-reading event-free blocks costs one getLogs per batch. A block hash commits to
        all its ancestors, so every stored event at or below the agreed block is still valid.
        """
        candidates = repository.event_blocks_desc(session, up_to_block=below - 1, limit=MAX_REORG_CHECKS + 1)
        for number, stored_hash in candidates[:MAX_REORG_CHECKS]:
            if self.gateway.block_hash(number) == stored_hash:
                return number, stored_hash
        if len(candidates) > MAX_REORG_CHECKS:
            raise ReorgTooDeep(f"none of the {MAX_REORG_CHECKS} newest indexed blocks below {below} is on the "
                               "chain any more; check that the RPC endpoint serves the deployment's chain")
        return self.start_block - 1, None  # no stored event survives: index again from the deployment


# ---------------------------------------------------------------------- reconciliation (R16)
def reconciliation_status(session: Session) -> ReconciliationStatus:
    """Chain supply (from indexed events) against ledger supply, both as of the indexed block.

    chain  = Σ Transfers from 0x0 − Σ Transfers to 0x0 in chain_events (all at or below the
             cursor block B).
    ledger = outstanding_fen × 10⁴
             − Σ confirmed mint/redeem/burnFrozen outbox rows mined above B (the worker confirmed
               them, the indexer has not read their block yet)
             + Σ signed/sent such rows whose transaction is already in chain_events (the indexer
               read it, the worker has not confirmed it yet)
             with mints counted + and burns −.
    In steady state both adjustments are empty and ledger = outstanding; in between, the two
    processes may each be ahead of the other without a false alarm. A confirmed row the chain
    does not have at or below B, a failed row the chain executed, or a mint/burn outside the
    service all show up. Reads only the database (readiness calls it).
    """
    pool = reserve_repository.get_pool(session)
    outstanding_units = fen_to_units(pool.outstanding_fen) if pool is not None else 0
    cursor = repository.read_cursor(session)
    if cursor is None:
        ok = outstanding_units == 0
        detail = "the indexer has not run yet" + ("" if ok else (
            f"; the ledger has {outstanding_units} units outstanding that no indexed event confirms (R16)"))
        return ReconciliationStatus(ok=ok, detail=detail, chain_supply_units=None,
                                    ledger_supply_units=outstanding_units, indexed_block=0, unexplained=0)
    indexed_block = cursor.last_block
    chain_units = repository.minted_minus_burned_units(session)
    ledger_units = _ledger_units_at(session, outstanding_units, indexed_block)
    unexplained = repository.unexplained_count(session)
    problems = []
    if chain_units != ledger_units:
        problems.append(f"chain supply {chain_units} units at block {indexed_block} differs from ledger supply "
                        f"{ledger_units} units by {chain_units - ledger_units}")
    if unexplained:
        problems.append(f"{unexplained} supply change(s) on chain match no service transaction "
                        "(minted or burned outside the service)")
    detail = ("; ".join(problems) + " (R16)") if problems else (
        f"chain supply {chain_units} units at block {indexed_block} equals the ledger")
    return ReconciliationStatus(ok=not problems, detail=detail, chain_supply_units=chain_units,
                                ledger_supply_units=ledger_units, indexed_block=indexed_block,
                                unexplained=unexplained)


def _ledger_units_at(session: Session, outstanding_units: int, indexed_block: int) -> int:
    ahead = repository.confirmed_supply_calls_after(session, indexed_block)
    behind = repository.in_flight_supply_calls_already_indexed(session)
    return (outstanding_units
            - sum(outbox_supply_units(function, args) for function, args in ahead)
            + sum(outbox_supply_units(function, args) for function, args in behind))


def check_reconciliation(sessions: sessionmaker[Session], gateway: ChainGateway) -> ReconciliationStatus:
    """`reconciliation_status` plus the token's own `totalSupply()` at the indexed block, which
    catches events the indexer missed or invented. Logs a WARNING when anything disagrees.
    Raises ChainUnavailable if the node does not answer (the caller retries)."""
    with sessions() as session:
        status = reconciliation_status(session)
    if status.chain_supply_units is not None and status.indexed_block >= gateway.deployment.block_number:
        on_chain = gateway.total_supply(status.indexed_block)
        if on_chain != status.chain_supply_units:
            status = replace(status, ok=False, detail=(
                f"{status.detail}; totalSupply() at block {status.indexed_block} is {on_chain} units but the "
                f"indexed events sum to {status.chain_supply_units} (R16)"))
    if not status.ok:
        reconciliation_log.warning("reconciliation failed: %s", status.detail, extra={"fields": {
            "event": "reconciliation_mismatch", "indexed_block": status.indexed_block,
            "chain_supply_units": status.chain_supply_units, "ledger_supply_units": status.ledger_supply_units,
            "unexplained": status.unexplained}})
    return status


# ---------------------------------------------------------------------- balances (R54)
def holder_balances(session: Session, *, at_block: int) -> dict[str, int]:
    """Checksummed address → balance in token units at `at_block`, from the indexed Transfers;
    zero balances are left out. Refuses a block the indexer has not reached, so a proof of
    liabilities can never be built on a partial view (R54)."""
    cursor = repository.read_cursor(session)
    if cursor is None or at_block > cursor.last_block:
        raise BlockNotIndexed(at_block, cursor.last_block if cursor is not None else None)
    return {address: units for address, units in repository.balances_at(session, at_block=at_block).items()
            if units != 0}
