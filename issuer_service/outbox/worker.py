"""The outbox worker: sign → broadcast → confirm, each step its own short transaction.

- Signing allocates the nonce from `signer_nonces` under a row lock and stores the raw
  transaction in the same commit, so a crash after signing re-broadcasts the identical bytes
  (same nonce, same hash): a mint can never be sent twice with two nonces.
- Broadcasting is idempotent ("already known" and "nonce too low but mined" are success).
- Confirmation waits for the configured depth, then marks the row final and calls the domain's
  handler in the same transaction.
- Mints are only signed when the on-chain attestation covers them (R1); otherwise the worker
  first posts a fresh attestation of the ledger's reserve.
Several workers (processes) can run at once: rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import Web3RPCError

from issuer_service.chain.gateway import SIGNER_ROLE, ChainGateway, ChainUnavailable
from issuer_service.clock import utc_now
from issuer_service.outbox import repository
from issuer_service.outbox.handlers import handler_for
from issuer_service.outbox.models import ChainTx

log = logging.getLogger("issuer_service.worker")

BLOCK_TIMESTAMP = "$block_timestamp"  # attestReserves' asOf, filled in when signed


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30.0, 0.25 * 2 ** min(attempts, 7)))


class OutboxWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: ChainGateway,
        *,
        ledger_reserve_fen: Callable[[Session], int],
        batch_size: int = 200,
        rebroadcast_after_s: float = 15.0,
        max_attempts: int = 8,
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.ledger_reserve_fen = ledger_reserve_fen
        self.batch_size = batch_size
        self.rebroadcast_after = timedelta(seconds=rebroadcast_after_s)
        self.max_attempts = max_attempts
        self.extra_steps: list[Callable[[], int]] = []  # e.g. the indexer

    # ------------------------------------------------------------------ loop
    def run_once(self) -> int:
        done = self.sign_pending()
        done += self.broadcast_signed()
        done += self.confirm_sent()
        for step in self.extra_steps:
            done += step()
        return done

    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 0.05) -> None:
        failures = 0
        while not stop.is_set():
            try:
                done = self.run_once()
                failures = 0
                if not done:
                    stop.wait(idle_sleep)
            except (ChainUnavailable, OperationalError) as exc:
                failures += 1
                delay = min(5.0, 0.2 * 2 ** min(failures, 5))
                log.warning("worker waiting %.1fs: %s", delay, exc.__class__.__name__,
                            extra={"event": "worker_backoff", "error": str(exc)[:200]})
                stop.wait(delay)
            except Exception:  # noqa: BLE001 - the worker must survive anything and retry
                failures += 1
                log.exception("worker step failed")
                stop.wait(min(5.0, 0.2 * 2 ** min(failures, 5)))

    # ------------------------------------------------------------------ sign
    def sign_pending(self) -> int:
        with self.sessions.begin() as session:
            rows = repository.claim(session, "pending", limit=self.batch_size, now=utc_now())
            if not rows:
                self._refresh_stale_attestation(session)
                return 0
            fees = self.gateway.fees()
            signable = self._reserve_gate(session, rows)
            by_role: dict[str, list[ChainTx]] = defaultdict(list)
            for row in signable:
                by_role[SIGNER_ROLE[row.function]].append(row)
            block_timestamp: int | None = None
            for role, role_rows in by_role.items():
                address = self.gateway.signer_address(role)
                counter = repository.lock_nonce(session, address)
                if counter is None:
                    counter = repository.create_nonce(session, address, self.gateway.chain_nonce(role))
                for row in role_rows:
                    args = json.loads(row.args_json)
                    if BLOCK_TIMESTAMP in args:
                        block_timestamp = block_timestamp or self.gateway.block_timestamp()
                        args = [block_timestamp if a == BLOCK_TIMESTAMP else a for a in args]
                        row.args_json = json.dumps(args)
                    signed = self.gateway.sign(row.function, args, counter.next_nonce, fees)
                    counter.next_nonce += 1
                    row.signer, row.nonce, row.raw_tx, row.tx_hash = signed.signer, signed.nonce, signed.raw, signed.tx_hash
                    row.status = "signed"
                    row.updated_at = utc_now()
                    handler = handler_for(row.entity_type)
                    if handler is not None and handler.on_submitted is not None:
                        handler.on_submitted(session, row)
                counter.updated_at = utc_now()
            return len(signable)

    def _reserve_gate(self, session: Session, rows: Any) -> list[ChainTx]:
        """Mints the current on-chain attestation covers, in order; the rest wait (R1)."""
        mints = [r for r in rows if r.function == "mint"]
        if not mints:
            return list(rows)
        state = self.gateway.reserve_state()
        chain_now = self.gateway.block_timestamp()
        fresh = chain_now + 60 <= state.attested_at + state.max_age_s
        supply = self.gateway.total_supply() + repository.in_flight_mint_units(session)
        allowed: set[str] = set()
        for row in mints:
            amount = int(json.loads(row.args_json)[1])
            if fresh and (supply + amount) * (10_000 + state.buffer_bps) <= state.attested_reserve_units * 10_000:
                supply += amount
                allowed.add(row.id)
        if len(allowed) < len(mints):
            self._ensure_attestation(session)
        return [r for r in rows if r.function != "mint" or r.id in allowed]

    def _ensure_attestation(self, session: Session) -> None:
        if repository.open_of(session, "attestReserves") is not None:
            return
        from compliance.money import fen_to_units

        reserve_units = fen_to_units(self.ledger_reserve_fen(session))
        repository.enqueue(session, function="attestReserves", args=[reserve_units, BLOCK_TIMESTAMP],
                           entity_type="attestation", entity_id="reserve")

    def _refresh_stale_attestation(self, session: Session) -> None:
        """Keep the on-chain attestation from going stale while idle (checked at most every 30 s)."""
        now = time.monotonic()
        if now - getattr(self, "_last_stale_check", 0.0) < 30:
            return
        self._last_stale_check = now
        state = self.gateway.reserve_state()
        if self.gateway.block_timestamp() > state.attested_at + state.max_age_s // 2:
            self._ensure_attestation(session)

    # ------------------------------------------------------------------ broadcast
    def broadcast_signed(self) -> int:
        with self.sessions.begin() as session:
            rows = sorted(repository.claim(session, "signed", limit=self.batch_size, now=utc_now()),
                          key=lambda r: (r.signer or "", r.nonce or 0))
            for row in rows:
                self._broadcast(session, row)
            return len(rows)

    def _broadcast(self, session: Session, row: ChainTx) -> None:
        assert row.raw_tx is not None and row.tx_hash is not None
        try:
            result = self.gateway.broadcast(row.raw_tx)
        except Web3RPCError as exc:
            self._attempt_failed(session, row, f"node refused the transaction: {exc}")
            return
        now = utc_now()
        # "nonce too low" for our own mined transaction is success; only re-sign when the nonce
        # went to some other transaction (checked at any depth: re-signing a mined mint would double it).
        if result in ("sent", "known") or self.gateway.is_mined(row.tx_hash):
            row.status, row.sent_at, row.updated_at = "sent", now, now
            return
        # Our nonce went to another transaction (the key was used elsewhere): re-sign fresh.
        self._resync_and_resign(session, row)

    def _resync_and_resign(self, session: Session, row: ChainTx) -> None:
        role = SIGNER_ROLE[row.function]
        counter = repository.lock_nonce(session, self.gateway.signer_address(role))
        chain_next = self.gateway.chain_nonce(role)
        if counter is not None and counter.next_nonce < chain_next:
            counter.next_nonce = chain_next
        log.warning("nonce %s of %s was used elsewhere; re-signing %s", row.nonce, row.signer, row.id)
        row.status, row.raw_tx, row.tx_hash, row.nonce = "pending", None, None, None
        row.updated_at = utc_now()

    def _attempt_failed(self, session: Session, row: ChainTx, error: str) -> None:
        row.attempts += 1
        row.last_error = error[:1000]
        row.updated_at = utc_now()
        if row.attempts >= self.max_attempts:
            self._finish(session, row, success=False, reason=f"gave up after {row.attempts} attempts: {error[:300]}")
        else:
            row.not_before = utc_now() + _backoff(row.attempts)

    # ------------------------------------------------------------------ confirm
    def confirm_sent(self) -> int:
        with self.sessions.begin() as session:
            rows = repository.claim(session, "sent", limit=self.batch_size, now=utc_now())
            finished = 0
            for row in rows:
                assert row.tx_hash is not None
                outcome = self.gateway.outcome(row.tx_hash)
                if outcome is None:
                    self._maybe_rebroadcast(session, row)
                    continue
                row.block_number, row.block_hash, row.gas_used = (
                    outcome.block_number, outcome.block_hash, outcome.gas_used)
                self._finish(session, row, success=outcome.success, reason="reverted on chain")
                finished += 1
            return finished

    def _maybe_rebroadcast(self, session: Session, row: ChainTx) -> None:
        """A sent transaction the node no longer knows (dropped, node restarted): send it again."""
        if row.sent_at is None or utc_now() - row.sent_at < self.rebroadcast_after:
            return
        if self.gateway.is_pending(row.tx_hash or ""):
            row.sent_at = utc_now()
            return
        log.warning("re-broadcasting %s (%s nonce %s)", row.id, row.function, row.nonce)
        self._broadcast(session, row)
        row.sent_at = utc_now()

    def _finish(self, session: Session, row: ChainTx, *, success: bool, reason: str) -> None:
        row.status = "confirmed" if success else "failed"
        row.updated_at = utc_now()
        if not success:
            row.last_error = reason[:1000]
        handler = handler_for(row.entity_type)
        if handler is None:
            return
        if success:
            handler.on_confirmed(session, row)
        else:
            handler.on_failed(session, row, reason)
