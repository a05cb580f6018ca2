"""The outbox worker: sign → broadcast → confirm, each step its own short transaction.

- Signing allocates the nonce from `signer_nonces` under a row lock and stores the raw
  transaction in the same commit, so a crash after signing re-broadcasts the identical bytes
  (same nonce, same hash): a mint can never be sent twice with two nonces.
- Broadcasting is idempotent ("already known" and "nonce too low but mined" are success). A row
  is signed again with a fresh nonce only when its nonce is used and its own hash has had no
  receipt for `rebroadcast_after`: a lagging node can say "nonce too low" before it shows the
  receipt, and re-signing a mined mint would mint twice.
- Confirmation waits for the configured depth, then marks the row final and calls the domain's
  handler in the same transaction.
- Mints are only signed when the on-chain attestation covers them (R1); otherwise the worker
  first posts a fresh attestation of the ledger's reserve.
Several workers (processes) can run at once: rows are claimed with SKIP LOCKED.

Throughput (docs/benchmarks.md, `scripts/bench_api.py`): each step handles a batch of rows with a
constant number of JSON-RPC round trips, whatever the batch size — one batch for the chain state
before signing, one batch of `eth_sendRawTransaction`, one batch of receipts. A transaction the
node mined at once (automine, or a fast chain) is confirmed in the same database transaction that
records its broadcast.

No database transaction is open while the node answers: each step reads its rows in one short
transaction, talks to the node, and applies the answers in a second one to the rows still as it
read them. A slow or hung node therefore holds no lock an API request needs (on SQLite, where
every transaction takes the database's write lock, it would stall every write for the RPC
timeout). In the second transaction the domain handlers come last: they take the audit chain's
head lock (and the reserve pool's, for mints), which every money-moving API request also needs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import Web3RPCError

from compliance.money import fen_to_units
from issuer_service.audit.service import append_audit
from issuer_service.chain.gateway import SIGNER_ROLE, ChainGateway, ChainUnavailable, SigningState, TxOutcome
from issuer_service.clock import utc_now
from issuer_service.outbox import repository
from issuer_service.outbox.handlers import REVERTED, WORKER, handler_for, lock_batch, on_behalf_of
from issuer_service.outbox.models import ChainTx
from issuer_service.request_context import new_request_id, request_id_context

log = logging.getLogger("issuer_service.worker")

BLOCK_TIMESTAMP = "$block_timestamp"  # attestReserves' asOf, filled in when signed
RESIGNED = "re-signed:"  # last_error of a row sent back to pending because its nonce was taken
# Mints the attestation does not cover yet, while an attestation queued earlier waits behind them
# in the claim order: step them aside this long so the next claim reaches the attestation.
ATTESTATION_WAIT = timedelta(milliseconds=100)


class _Sent(NamedTuple):
    """A sent row as `confirm_sent` read it, before asking the node with no transaction open."""

    row_id: str
    tx_hash: str
    sent_at: datetime | None
    raw_tx: bytes
    function: str
    signer: str
    nonce: int | None


@dataclass(frozen=True)
class Resend:
    """What the node said to a row's signed bytes sent again: refused (why), its nonce taken by
    another transaction (the chain's next nonce), or neither (accepted, or ours is mined)."""

    refused: str | None = None
    nonce_taken_at: int | None = None


POOL_RECHECK = timedelta(seconds=1)  # how often a sent row the node holds unmined is asked about again
# R41: what the token reverts while paused. Accepted before a pause, they wait for the token to be
# unpaused instead of being sent to revert and fail; looked at again this often.
HELD_BY_PAUSE = frozenset({"mint", "redeemWithPermit"})
PAUSE_RECHECK = timedelta(seconds=1)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30.0, 0.25 * 2 ** min(attempts, 7)))


class OutboxWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: ChainGateway,
        *,
        ledger_reserve_fen: Callable[[Session], int],
        batch_size: int = 50,
        rebroadcast_after_s: float = 15.0,
    ) -> None:
        # batch_size bounds how long one step holds the audit head and reserve pool locks that API
        # requests wait for (a few milliseconds per row on PostgreSQL); 50 keeps the worker's share of
        # that wait short while amortising each commit and round trip over many rows.
        self.sessions = sessions
        self.gateway = gateway
        self.ledger_reserve_fen = ledger_reserve_fen
        self.batch_size = batch_size
        self.rebroadcast_after = timedelta(seconds=rebroadcast_after_s)
        self.extra_steps: list[Callable[[], int]] = []  # e.g. the indexer
        self._last_stale_check = 0.0

    # ------------------------------------------------------------------ loop
    def run_once(self) -> int:
        """Every step once, in order (deterministic; `run_forever` runs them in parallel loops)."""
        done = self.sign_pending()
        done += self.send_and_confirm()
        done += self.run_extra_steps()
        return done

    def send_and_confirm(self) -> int:
        return self.broadcast_signed() + self.confirm_sent()

    def run_extra_steps(self) -> int:
        return sum(step() for step in self.extra_steps)

    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 0.05) -> None:
        """Three loops, each in its own thread: signing; broadcasting and confirming (woken as soon
        as a batch is signed, so signing the next batch overlaps sending this one); and the extra
        steps (indexer, reorg repair, webhooks), whose slower checks must not stall the outbox.
        They share nothing but the database, exactly like several worker processes would."""
        signed = threading.Event()
        helpers = [
            threading.Thread(
                target=self._loop,
                args=(self.send_and_confirm, stop, idle_sleep),
                kwargs={"wake": signed},
                name="outbox-send",
                daemon=True,
            ),
            threading.Thread(
                target=self._loop, args=(self.run_extra_steps, stop, idle_sleep), name="outbox-extra", daemon=True
            ),
        ]
        for thread in helpers:
            thread.start()
        try:
            self._loop(self.sign_pending, stop, idle_sleep, on_progress=signed)
        finally:
            stop.set()
            for thread in helpers:
                thread.join(30.0)

    def _loop(
        self,
        step: Callable[[], int],
        stop: threading.Event,
        idle_sleep: float,
        *,
        wake: threading.Event | None = None,
        on_progress: threading.Event | None = None,
    ) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if wake is not None:
                    wake.clear()  # a wake-up during the step makes the wait below return at once
                with request_id_context(new_request_id("job")):  # what a step writes for no request
                    done = step()
                failures = 0
                if done and on_progress is not None:
                    on_progress.set()
                if not done:
                    (wake or stop).wait(idle_sleep)
            except (ChainUnavailable, OperationalError) as exc:
                failures += 1
                delay = min(5.0, 0.2 * 2 ** min(failures, 5))
                log.warning(
                    "worker waiting %.1fs: %s",
                    delay,
                    exc.__class__.__name__,
                    extra={"event": "worker_backoff", "error": str(exc)[:200]},
                )
                stop.wait(delay)
            except Exception:  # noqa: BLE001 - the worker must survive anything and retry
                failures += 1
                log.exception("worker step failed")
                stop.wait(min(5.0, 0.2 * 2 ** min(failures, 5)))

    # ------------------------------------------------------------------ sign
    def sign_pending(self) -> int:
        """Sign a batch of pending rows. The ledger is read first, then the chain (see
        `_reserve_gate`), with no transaction open while the node answers; the rows are claimed and
        signed in a second transaction. If anything was signed in between (another worker), the
        chain read may predate mints the ledger read did not count: nothing is signed this time.

        "Anything signed" is the signers' nonce counters (`signing_marker`): read before the ledger,
        so that a commit between the two reads shows as a change; and read again under the mint
        signer's counter lock, which a worker signing mints holds to its commit, so that mints being
        signed right now are waited for and seen, not missed (their reservation would be counted by
        nobody, and the chain would refuse the mint that goes past the attested cap)."""
        with self.sessions.begin() as session:
            due = repository.has_due(session, "pending", now=utc_now())
            marker = repository.signing_marker(session) if due else ()
            in_flight = repository.in_flight_mint_units(session) if due else 0
        if not due:
            self._refresh_stale_attestation()
            return 0
        chain = self.gateway.signing_state()  # one RPC round trip for the batch
        with self.sessions.begin() as session:
            repository.lock_nonce(session, self.gateway.signer_address(SIGNER_ROLE["mint"]))
            if repository.signing_marker(session) != marker:
                return 0
            rows = self._pause_gate(session, repository.claim(session, "pending", limit=self.batch_size, now=utc_now()))
            rows, refused = self._domain_gate(session, rows)
            signable = self._reserve_gate(session, rows, chain, in_flight)
            signed = self._sign(session, signable, chain)
            self._submitted(session, signed)
            self._refused(session, refused)
            return len(signable) + len(refused)

    def _sign(self, session: Session, rows: Sequence[ChainTx], chain: SigningState) -> list[ChainTx]:
        """Sign `rows` in order, each role's nonces allocated under its counter's row lock. Local only."""
        by_role: dict[str, list[ChainTx]] = defaultdict(list)
        for row in rows:
            by_role[SIGNER_ROLE[row.function]].append(row)
        signed: list[ChainTx] = []
        for role, role_rows in by_role.items():
            address = self.gateway.signer_address(role)
            counter = repository.lock_nonce(session, address)
            if counter is None:
                counter = repository.create_nonce(session, address, self.gateway.chain_nonce(role))
            for row in role_rows:
                args = json.loads(row.args_json)
                if BLOCK_TIMESTAMP in args:
                    args = [chain.block_timestamp if a == BLOCK_TIMESTAMP else a for a in args]
                    row.args_json = json.dumps(args)
                tx = self.gateway.sign(row.function, args, counter.next_nonce, chain.fees)
                counter.next_nonce += 1
                row.signer, row.nonce, row.raw_tx, row.tx_hash = tx.signer, tx.nonce, tx.raw, tx.tx_hash
                row.status = "signed"
                row.updated_at = utc_now()
                signed.append(row)
            counter.updated_at = utc_now()
        return signed

    def _submitted(self, session: Session, rows: Sequence[ChainTx]) -> None:
        """The domain handlers, after every RPC and every signature of the step (module docstring)."""
        lock_batch(session, rows)
        for row in rows:
            with on_behalf_of(row):
                self._submitted_one(session, row)

    def _submitted_one(self, session: Session, row: ChainTx) -> None:
        # Re-signed after another transaction took its nonce: the business object already went to
        # "submitted" the first time; calling the handler again would be refused and would keep
        # the row from ever being sent.
        # Its hash changed, though, so the business object and the audit log learn the new one.
        handler = handler_for(row.entity_type)
        if (row.last_error or "").startswith(RESIGNED):
            append_audit(
                session,
                actor=WORKER,
                action="chain_tx.re_signed",
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                data={"chain_tx_id": row.id, "function": row.function, "tx_hash": row.tx_hash,
                      "nonce": row.nonce, "why": row.last_error},
                rule_ids=["R16"],
            )
            if handler is not None and handler.on_resigned is not None:
                handler.on_resigned(session, row)
        elif handler is not None and handler.on_submitted is not None:
            handler.on_submitted(session, row)

    def _domain_gate(
        self, session: Session, rows: Sequence[ChainTx]
    ) -> tuple[list[ChainTx], list[tuple[ChainTx, str]]]:
        """Rows their domain lets the current keys sign, and those it refuses with the reason (e.g. a
        redemption permit naming a minter the service no longer signs with, after a key rotation)."""
        signable: list[ChainTx] = []
        refused: list[tuple[ChainTx, str]] = []
        for row in rows:
            handler = handler_for(row.entity_type)
            check = handler.refuse_before_signing if handler is not None else None
            reason = check(session, row, self.gateway) if check is not None else None
            if reason is None:
                signable.append(row)
            else:
                refused.append((row, reason))
        return signable, refused

    def _refused(self, session: Session, refused: Sequence[tuple[ChainTx, str]]) -> None:
        """Fail rows the domain refused before signing (nothing was signed or sent; handlers last)."""
        lock_batch(session, [row for row, _ in refused])
        for row, reason in refused:
            log.warning("not signing %s (%s): %s", row.id, row.function, reason[:300])
            self._finish(session, row, success=False, reason=reason)

    def _pause_gate(self, session: Session, rows: Sequence[ChainTx]) -> list[ChainTx]:
        """Rows the token would revert while paused wait while the service is paused or a pause or
        unpause is still on its way to the chain (R41); the rest go on (the pause itself first)."""
        held = [r for r in rows if r.function in HELD_BY_PAUSE]
        if not held or not repository.pause_in_force(session):
            return list(rows)
        wait_until = utc_now() + PAUSE_RECHECK
        for row in held:
            row.not_before = wait_until
        return [r for r in rows if r.function not in HELD_BY_PAUSE]

    def _reserve_gate(
        self, session: Session, rows: Sequence[ChainTx], chain: SigningState, in_flight_units: int
    ) -> list[ChainTx]:
        """Mints the current on-chain attestation covers, in order; the rest wait (R1).

        `in_flight_units` (mints signed or sent, not final) is read from the database *before* the
        chain: a mint that becomes final in between is then counted twice (in the supply and in
        flight), never missed."""
        mints = [r for r in rows if r.function == "mint"]
        if not mints:
            return list(rows)
        state = chain.reserve
        fresh = chain.block_timestamp + 60 <= state.attested_at + state.max_age_s
        supply = chain.total_supply_units + in_flight_units
        allowed: set[str] = set()
        for row in mints:
            amount = int(json.loads(row.args_json)[1])
            if fresh and (supply + amount) * (10_000 + state.buffer_bps) <= state.attested_reserve_units * 10_000:
                supply += amount
                allowed.add(row.id)
        if len(allowed) < len(mints):
            attestation = self._ensure_attestation(session, chain)
            if attestation.status == "pending" and all(r.id != attestation.id for r in rows):
                wait_until = utc_now() + ATTESTATION_WAIT
                for row in mints:
                    if row.id not in allowed:
                        row.not_before = wait_until
        return [r for r in rows if r.function != "mint" or r.id in allowed]

    def _ensure_attestation(self, session: Session, chain: SigningState) -> ChainTx:
        """The open attestation, or a new one of the ledger's reserve, signed at once: waiting as
        `pending` it could sit behind a full claim of the very mints it is meant to unblock."""
        existing = repository.open_of(session, "attestReserves")
        if existing is not None:
            return existing
        reserve_units = fen_to_units(self.ledger_reserve_fen(session))
        row = repository.enqueue(
            session,
            function="attestReserves",
            args=[reserve_units, BLOCK_TIMESTAMP],
            entity_type="attestation",
            entity_id="reserve",
        )
        self._submitted(session, self._sign(session, [row], chain))
        return row

    def _refresh_stale_attestation(self) -> None:
        """While idle (checked at most every 30 s), attest again when the on-chain attestation is
        getting stale, or states more than the ledger's reserve: reserves paid out for redemptions
        or written down must leave the token's mint cap too (R1), or a stolen minter key could mint
        against them until the attestation aged."""
        now = time.monotonic()
        if now - self._last_stale_check < 30:
            return
        self._last_stale_check = now
        chain = self.gateway.signing_state()
        stale = chain.block_timestamp > chain.reserve.attested_at + chain.reserve.max_age_s // 2
        with self.sessions.begin() as session:
            # Read after the chain: a mint accepted in between only raises the ledger's reserve.
            overstated = chain.reserve.attested_reserve_units > fen_to_units(self.ledger_reserve_fen(session))
            if stale or overstated:
                self._ensure_attestation(session, chain)

    # ------------------------------------------------------------------ broadcast
    def broadcast_signed(self) -> int:
        """Send signed rows in nonce order (one batch) and confirm at once those already mined.
        The rows are read in one transaction and updated in another, with none open while the node
        answers; a row another worker moved on meanwhile is left as that worker left it (sending the
        same signed bytes twice is harmless: same nonce, same hash)."""
        with self.sessions.begin() as session:
            claimed = sorted(
                repository.claim(session, "signed", limit=self.batch_size, now=utc_now()),
                key=lambda r: (r.signer or "", r.nonce or 0),
            )
            sending = [(r.id, r.tx_hash or "", r.raw_tx or b"") for r in claimed]
        if not sending:
            return 0
        results = self.gateway.broadcast_many([raw for _, _, raw in sending])
        # "nonce too low" is success only if it was our own transaction that used the nonce
        # (checked at any depth: re-signing a mined mint would double it). With one
        # confirmation, every accepted row is looked up too: a mined one is confirmed now.
        lookup = [
            tx_hash
            for (_, tx_hash, _), result in zip(sending, results, strict=True)
            if result == "nonce_too_low" or (self.gateway.confirmations <= 1 and isinstance(result, str))
        ]
        mined = self.gateway.receipts(lookup) if lookup else {}
        with self.sessions.begin() as session:
            current = repository.lock_by_id(session, [row_id for row_id, _, _ in sending])
            now = utc_now()
            finished: list[tuple[ChainTx, TxOutcome]] = []
            for (row_id, tx_hash, _), result in zip(sending, results, strict=True):
                row = current.get(row_id)
                if row is None or row.status != "signed" or row.tx_hash != tx_hash:
                    continue
                if isinstance(result, Web3RPCError):
                    self._attempt_failed(session, row, f"node refused the transaction: {result}")
                    continue
                outcome = mined.get(tx_hash)
                if result == "nonce_too_low" and outcome is None:
                    # Either another transaction took the nonce (the key was used elsewhere) or the
                    # node mined ours and cannot show its receipt yet (a lagging node behind a load
                    # balancer, a node restarting). Re-signing now would mint twice in the second
                    # case, so the row waits as sent: the confirm step keeps looking for its receipt
                    # and re-signs only once it is still missing after `rebroadcast_after`.
                    log.warning("nonce %s of %s is used, no receipt for %s yet; waiting", row.nonce, row.signer, row.id)
                    row.last_error = f"nonce {row.nonce} used, no receipt for {row.tx_hash} yet"
                row.status, row.sent_at, row.updated_at, row.attempts = "sent", now, now, 0  # refusals so far
                if outcome is not None and self.gateway.confirmations <= 1:
                    finished.append((row, outcome))
            lock_batch(session, [row for row, _ in finished])
            for row, outcome in finished:
                self._confirmed(session, row, outcome)
        return len(sending)

    def _resend(self, raw_tx: bytes, tx_hash: str, function: str) -> Resend:
        """Send a row's signed bytes again (the rare re-broadcast path): what the node says, asked
        with no transaction open. "nonce too low" for our own mined transaction is success; the
        nonce went to another transaction only if ours is not mined (checked at any depth:
        re-signing a mined mint would double it)."""
        try:
            result = self.gateway.broadcast(raw_tx)
        except Web3RPCError as exc:
            return Resend(refused=f"node refused the transaction: {exc}")
        if result in ("sent", "known") or self.gateway.is_mined(tx_hash):
            return Resend()
        return Resend(nonce_taken_at=self.gateway.chain_nonce(SIGNER_ROLE[function]))

    def _resent(self, session: Session, row: ChainTx, resend: Resend) -> None:
        """Apply what `_resend` learnt to the row (still as it was read)."""
        if resend.refused is not None:
            self._attempt_failed(session, row, resend.refused)
        elif resend.nonce_taken_at is not None:
            self._resync_and_resign(session, row, chain_next=resend.nonce_taken_at)
        else:
            now = utc_now()
            row.status, row.sent_at, row.updated_at, row.attempts = "sent", now, now, 0

    def _resync_and_resign(self, session: Session, row: ChainTx, *, chain_next: int) -> None:
        role = SIGNER_ROLE[row.function]
        counter = repository.lock_nonce(session, self.gateway.signer_address(role))
        if counter is not None and counter.next_nonce < chain_next:
            counter.next_nonce = chain_next
        log.warning("nonce %s of %s was used elsewhere; re-signing %s", row.nonce, row.signer, row.id)
        row.last_error = f"{RESIGNED} nonce {row.nonce} of {row.signer} was used by another transaction"
        row.status, row.raw_tx, row.tx_hash, row.nonce = "pending", None, None, None
        row.updated_at = utc_now()

    def _attempt_failed(self, session: Session, row: ChainTx, error: str) -> None:
        """The node refused the row's signed bytes. The row keeps them and tries again after a
        backoff, however often it is refused: it holds its signer's nonce, and giving it up would
        leave a gap that every later transaction of that signer waits behind in the node's queue, for
        good. What a node refuses a well-formed transaction for passes (a signer short of gas, a fee
        under the base fee); the `outbox` readiness check names a row refused repeatedly so that an
        operator fixes the cause."""
        row.attempts += 1
        row.last_error = error[:1000]
        row.updated_at = utc_now()
        row.not_before = utc_now() + _backoff(row.attempts)
        log.warning("the node refused %s (%s, nonce %s of %s) %s time(s); retrying in %.1f s: %s", row.id,
                    row.function, row.nonce, row.signer, row.attempts, _backoff(row.attempts).total_seconds(),
                    error[:300])

    # ------------------------------------------------------------------ confirm
    def confirm_sent(self) -> int:
        """Confirm sent rows mined at the configured depth. Read, ask the node (no transaction
        open), then apply to the rows still as they were read."""
        with self.sessions.begin() as session:
            claimed = repository.claim(session, "sent", limit=self.batch_size, now=utc_now())
            waiting = [_Sent(r.id, r.tx_hash or "", r.sent_at, r.raw_tx or b"", r.function, r.signer or "", r.nonce)
                       for r in claimed]
        if not waiting:
            return 0
        outcomes = self.gateway.outcomes([w.tx_hash for w in waiting])
        # A transaction without an outcome for `rebroadcast_after`: if the node no longer has it
        # (dropped, node restarted), send it again. Of one the node still holds, only the signer's
        # lowest is asked about, once per step: if it is next in line, the node holds it by mistake
        # and the signer's transactions are cleared from the pool and sent again (`release_held`).
        overdue: dict[str, Resend | None] = {}  # None: still in the node's pool
        asked: set[str] = set()  # signers whose lowest held transaction was asked about
        released: set[str] = set()  # ... and cleared from the pool
        for w in sorted(waiting, key=lambda w: (w.signer, w.nonce or 0)):
            if outcomes.get(w.tx_hash) is not None or (
                w.sent_at is not None and utc_now() - w.sent_at < self.rebroadcast_after
            ):
                continue
            if w.signer not in released and self.gateway.is_pending(w.tx_hash):
                lowest = w.signer not in asked
                asked.add(w.signer)
                if not lowest or w.nonce is None or not self.gateway.release_held(w.signer, w.nonce):
                    overdue[w.tx_hash] = None
                    continue
                released.add(w.signer)
                log.warning(
                    "the node held %s (%s, nonce %s of %s) unmined although it is next; cleared the "
                    "signer's transactions from its pool and sent them again",
                    w.tx_hash, w.function, w.nonce, w.signer,
                )
            else:
                log.warning("re-broadcasting %s (%s)", w.tx_hash, w.function)
            overdue[w.tx_hash] = self._resend(w.raw_tx, w.tx_hash, w.function)
        with self.sessions.begin() as session:
            current = repository.lock_by_id(session, [w.row_id for w in waiting])
            finished: list[tuple[ChainTx, TxOutcome]] = []
            for row_id, tx_hash, *_ in waiting:
                row = current.get(row_id)
                if row is None or row.status != "sent" or row.tx_hash != tx_hash:
                    continue
                outcome = outcomes.get(tx_hash)
                if outcome is not None:
                    finished.append((row, outcome))
                elif tx_hash in overdue:
                    resend = overdue[tx_hash]
                    if resend is not None:
                        self._resent(session, row, resend)
                        row.sent_at = utc_now()
                    else:
                        # Still in the node's pool, unmined: keep the time it was sent (readiness
                        # reports one held for long, e.g. behind a nonce gap); look again in a second.
                        row.not_before = utc_now() + POOL_RECHECK
            lock_batch(session, [row for row, _ in finished])
            for row, outcome in finished:
                self._confirmed(session, row, outcome)
            return len(finished)

    def _confirmed(self, session: Session, row: ChainTx, outcome: TxOutcome) -> None:
        row.block_number, row.block_hash, row.gas_used = outcome.block_number, outcome.block_hash, outcome.gas_used
        self._finish(session, row, success=outcome.success, reason=REVERTED)

    def _finish(self, session: Session, row: ChainTx, *, success: bool, reason: str) -> None:
        row.status = "confirmed" if success else "failed"
        row.updated_at = utc_now()
        if not success:
            row.last_error = reason[:1000]
        handler = handler_for(row.entity_type)
        if handler is None:
            return
        with on_behalf_of(row):
            if success:
                handler.on_confirmed(session, row)
            else:
                handler.on_failed(session, row, reason)
