"""Reorg deeper than the confirmation depth under mixed work (issue: reliability, item 3).

The API and its in-process worker run as a real process on PostgreSQL with CNH_CONFIRMATIONS=3,
on a state-persisting Anvil whose blocks come from automine plus a block producer in this test
(three confirmations need blocks after each transaction; see `BlockProducer`). Three customers
mint, transfer tokens to each other with their own keys and redeem with permits. Then
`anvil_reorg` replaces every block since a fork point — deeper than three blocks — so the chain
forgets confirmed mints, a burn whose redemption was already paid, a holder's transfer (which the
new blocks carry again, in another block), and a mint and a burn still confirming. More mints and
a redemption arrive while the service repairs.

Afterwards (R1, R10, R13, R16, R50): every accepted mint and redemption is final exactly once
(confirmed / paid, nothing failed); each outbox transaction is on the canonical chain exactly once,
in the block the outbox records; Minted and Redeemed events match the ledger one to one (no
doubled mint, burn or payout); totalSupply equals the ledger; the indexer rewound (its events are
all on the canonical chain) and its holder balances equal balanceOf; no nonce is stuck; the audit
chain verifies."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import TransactionNotFound

from issuer_service.chain.tx import build_tx, sign
from issuer_service.indexer.service import holder_balances, reconciliation_status
from tests.reliability.flows import (
    UNITS_PER_FEN,
    Api,
    Holder,
    assert_books_balance,
    redemption_body,
    set_up_issuer,
    wait_settled,
    wait_status,
    wait_until,
)
from tests.reliability.harness import Stack, build_stack, drop_database

CONFIRMATIONS = 3
REPAIR_WINDOW_BLOCKS = 64  # issuer_service.outbox.reorg.ReorgRepair's default look-back


class BlockProducer:
    """Mines an empty block whenever one of the newest `confirmations - 1` blocks holds a
    transaction, so every transaction gets its confirmations and an idle chain stands still: the
    depth of the reorg is then set by the work done, not by how slow the machine is. `paused()`
    stops it, e.g. to keep a transaction confirming, or while the test reorganises the chain."""

    def __init__(self, rpc_url: str, confirmations: int) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url))
        self.confirmations = confirmations
        self.mined = 0
        self.errors: list[str] = []  # read when a test fails for want of a block
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._idle = threading.Lock()  # held while a look-and-mine is in progress
        self._thread = threading.Thread(target=self._run, name="block-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def pause(self) -> None:
        self._running.clear()
        with self._idle:  # wait out a mine in progress
            pass

    def resume(self) -> None:
        self._running.set()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            if not self._running.is_set():
                continue
            with self._idle:
                if not self._running.is_set():
                    continue
                try:
                    head = self.w3.eth.block_number
                    young = range(max(0, head - self.confirmations + 2), head + 1)
                    if any(self.w3.eth.get_block_transaction_count(n) for n in young):
                        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
                        self.mined += 1
                except Exception as exc:  # noqa: BLE001 - a busy node answers next time
                    self.errors.append(repr(exc))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = build_stack(tmp_path)
    stack.extra_env["CNH_CONFIRMATIONS"] = str(CONFIRMATIONS)
    try:
        yield stack
    finally:
        stack.stop()
        drop_database(stack.database_url)


@pytest.fixture
def producer(stack: Stack) -> Iterator[BlockProducer]:
    producer = BlockProducer(stack.anvil.url, CONFIRMATIONS)
    producer.start()
    try:
        yield producer
    finally:
        producer.stop()


# ------------------------------------------------------------------------------------------ helpers
def _fen(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _mint(api: Api, holder: Holder, amount: str) -> str:
    body = {"wallet": holder.wallet.address, "amount": amount}
    return str(api.ok("POST", "/v1/mints", holder.key, idempotency_key=uuid.uuid4().hex, json=body)["id"])


def _redeem(stack: Stack, api: Api, holder: Holder, amount: str) -> str:
    body = redemption_body(stack, api, holder, _fen(amount))
    return str(api.ok("POST", "/v1/redemptions", holder.key, idempotency_key=uuid.uuid4().hex, json=body)["id"])


def _transfer(stack: Stack, sender: Holder, to: Holder, amount: str) -> tuple[str, str]:
    """A holder moves tokens with its own key (outside the service); returns (raw tx, hash)."""
    w3 = stack.w3
    token = w3.eth.contract(address=stack.deployment.token_address, abi=stack.deployment.abi)
    call = token.functions.transfer(to.wallet.address, _fen(amount) * UNITS_PER_FEN)
    tx = build_tx(w3, sender.wallet.address, call, nonce=w3.eth.get_transaction_count(sender.wallet.address),
                  gas=200_000)
    raw, tx_hash = sign(sender.wallet, tx)
    w3.eth.send_raw_transaction(raw)
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)["status"] == 1
    return "0x" + raw.hex(), tx_hash


def _scalar(stack: Stack, sql: str, **params: Any) -> Any:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            return db.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _rows(stack: Stack, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            return list(db.execute(text(sql), params).all())
    finally:
        engine.dispose()


def _receipt(w3: Web3, tx_hash: str) -> Any:
    """The transaction's receipt, or None while it is not mined (signed, sent, or dropped)."""
    try:
        return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return None


def _wait_mined(stack: Stack, api: Api, holder: Holder, path: str, hash_field: str, status: str) -> None:
    """The request's transaction is signed (its status says so), sent and mined."""
    record = wait_status(api, path, holder.key, {status, "confirmed", "paid"}, timeout=60)
    wait_until(lambda: _receipt(stack.w3, record[hash_field]), timeout=30, what=f"{path}'s transaction to be mined")


def _indexer_caught_up(stack: Stack) -> bool:
    """Stable chain, indexer at the newest block with its confirmations."""
    safe = stack.w3.eth.block_number - (CONFIRMATIONS - 1)
    return int(_scalar(stack, "SELECT last_block FROM indexer_cursor") or 0) >= safe


def _outbox_matches_chain(stack: Stack) -> list[str]:
    """Confirmed outbox rows whose recorded block is not where the canonical chain has them."""
    w3 = stack.w3
    wrong = []
    for row in _rows(stack, "SELECT id, tx_hash, block_number, block_hash FROM chain_txs WHERE status = 'confirmed'"):
        receipt = _receipt(w3, row.tx_hash)
        if (
            receipt is None
            or receipt["status"] != 1
            or (receipt["blockNumber"], "0x" + bytes(receipt["blockHash"]).hex()) != (row.block_number, row.block_hash)
        ):
            wrong.append(row.id)
    return wrong


# --------------------------------------------------------------------------------------------- test
def test_reorg_deeper_than_the_confirmations_drops_paid_burns_and_confirmed_mints_and_nothing_is_lost_or_doubled(
    stack: Stack, producer: BlockProducer
) -> None:
    started = time.monotonic()
    stack.start("api+worker")
    api = Api(stack.base_url)
    issuer = set_up_issuer(api, stack.admin_key, customers=3, deposit="1000.00", capital="100000.00")
    alice, bob, carol = issuer.holders
    mints: list[str] = []
    redemptions: list[str] = []
    w3 = stack.w3
    token = w3.eth.contract(address=stack.deployment.token_address, abi=stack.deployment.abi)

    # 1. History the reorg keeps: a mint each, a transfer between customers.
    kept = [_mint(api, holder, "100.00") for holder in (alice, bob, carol)]
    mints += kept
    for mint_id, holder in zip(kept, (alice, bob, carol), strict=True):
        wait_status(api, f"/v1/mints/{mint_id}", holder.key, {"confirmed"})
    _transfer(stack, alice, bob, "10.00")
    wait_settled(stack, timeout=60)
    wait_until(lambda: _indexer_caught_up(stack), timeout=30, what="the indexer to reach the fork point")
    fork_block = w3.eth.block_number
    supply_at_fork = token.functions.totalSupply().call(block_identifier=fork_block)

    # 2. History the reorg drops, final before it: mints confirmed, a redemption burned *and paid*,
    # and a holder's own transfer that the new blocks carry again.
    dropped_mints = [_mint(api, alice, "20.00"), _mint(api, bob, "30.00"), _mint(api, carol, "40.00")]
    mints += dropped_mints
    for mint_id, holder in zip(dropped_mints, (alice, bob, carol), strict=True):
        wait_status(api, f"/v1/mints/{mint_id}", holder.key, {"confirmed"})
    paid_redemption = _redeem(stack, api, bob, "50.00")
    redemptions.append(paid_redemption)
    paid_before = wait_status(api, f"/v1/redemptions/{paid_redemption}", bob.key, {"paid"})
    replayed_transfer, replayed_hash = _transfer(stack, carol, alice, "5.00")
    wait_until(lambda: _indexer_caught_up(stack), timeout=30, what="the indexer to read the burn")

    # 3. Still confirming when the chain reorganises: the producer stops, so their blocks stay young.
    producer.pause()
    confirming_mint = _mint(api, alice, "7.00")
    confirming_redemption = _redeem(stack, api, carol, "30.00")
    mints.append(confirming_mint)
    redemptions.append(confirming_redemption)
    _wait_mined(stack, api, alice, f"/v1/mints/{confirming_mint}", "tx_hash", "submitted")
    _wait_mined(stack, api, carol, f"/v1/redemptions/{confirming_redemption}", "burn_tx_hash", "burn_submitted")
    before = {r.id: r.status for r in _rows(stack, "SELECT id, status FROM mints UNION ALL SELECT id, status FROM "
                                                   "redemptions")}
    assert before[paid_redemption] == "paid" and all(before[m] == "confirmed" for m in dropped_mints), before
    assert (before[confirming_mint], before[confirming_redemption]) == ("submitted", "burn_submitted"), before

    # 4. The reorg: every block since the fork is replaced (the holder's transfer comes back first).
    head = w3.eth.block_number
    depth = head - fork_block
    assert CONFIRMATIONS < depth < REPAIR_WINDOW_BLOCKS, depth
    reply = w3.provider.make_request("anvil_reorg", [depth, [[replayed_transfer, 0]]])  # type: ignore[arg-type]
    assert "error" not in reply, reply
    # Read at the reorged head: the repair may re-send at any moment, into the blocks above it.
    assert token.functions.totalSupply().call(block_identifier=head) == supply_at_fork  # mints and burn forgotten
    assert token.events.Redeemed.get_logs(from_block=fork_block + 1, to_block=head) == []
    assert w3.eth.get_transaction_receipt(replayed_hash)["blockNumber"] == fork_block + 1
    producer.resume()

    # 5. Work keeps arriving while the service repairs.
    mints += [_mint(api, bob, "11.00"), _mint(api, carol, "12.00")]
    redemptions.append(_redeem(stack, api, alice, "15.00"))

    wait_settled(stack, timeout=90)
    wait_until(lambda: not _outbox_matches_chain(stack), timeout=60,
               what=lambda: f"the outbox's blocks to match the chain (differ: {_outbox_matches_chain(stack)})")
    wait_until(lambda: _indexer_caught_up(stack), timeout=30, what="the indexer to catch up after the reorg")

    # Every request final exactly once, each Minted event a ledger mint, chain supply = ledger,
    # fiat adds up, no nonce stuck, audit chain verifies.
    figures = assert_books_balance(stack, api, issuer, accepted_mints=mints, accepted_redemptions=redemptions)

    # Each burn on the canonical chain once, for its own redemption, in the transaction it records.
    redeemed = token.events.Redeemed.get_logs(from_block=0)
    on_chain = sorted(("0x" + bytes(log["args"]["requestId"]).hex(), "0x" + bytes(log["transactionHash"]).hex())
                      for log in redeemed)
    in_ledger = sorted((r.chain_request_id, r.burn_tx_hash)
                       for r in _rows(stack, "SELECT chain_request_id, burn_tx_hash FROM redemptions"))
    assert on_chain == in_ledger
    paid_after = api.ok("GET", f"/v1/redemptions/{paid_redemption}", bob.key)
    assert (paid_after["burn_tx_hash"], paid_after["payout_reference"], paid_after["paid_at"]) == (
        paid_before["burn_tx_hash"], paid_before["payout_reference"], paid_before["paid_at"])
    # What the API tells a client is where the chain has it now, not the block the reorg replaced.
    shown = _rows(stack, "SELECT id, tx_hash, block_number FROM mints UNION ALL "
                         "SELECT id, burn_tx_hash, block_number FROM redemptions")
    assert paid_after["block_number"] != paid_before["block_number"]
    assert {r.id: r.block_number for r in shown} == {
        r.id: w3.eth.get_transaction_receipt(r.tx_hash)["blockNumber"] for r in shown}

    # No business record moved twice: one `confirmed` per mint, one `paid` per redemption (one payout).
    moves = Counter((r.action, r.entity_id) for r in _rows(stack, "SELECT action, entity_id FROM audit_log"))
    assert all(moves[("mint.confirmed", m)] == 1 for m in mints), moves
    assert all(moves[("redemption.burned", r)] == moves[("redemption.paid", r)] == 1 for r in redemptions), moves

    # The repair: the dropped confirmed transactions were re-sent, none was lost; the indexer rewound.
    audit = _rows(stack, "SELECT action, entity_type, entity_id, data FROM audit_log "
                         "WHERE action LIKE 'chain_tx.reorg%' OR action = 'indexer.reorg' ORDER BY seq")
    resent = {(r.entity_type, r.entity_id) for r in audit if r.action == "chain_tx.reorg_resent"}
    assert {("mint", m) for m in dropped_mints} | {("redemption", paid_redemption)} <= resent, audit
    assert not [r for r in audit if r.action == "chain_tx.reorg_lost"], audit
    rewinds = [r.data for r in audit if r.action == "indexer.reorg"]
    assert rewinds and rewinds[0]["to_block"] <= fork_block and paid_before["burn_tx_hash"] in rewinds[0][
        "dropped_tx_hashes"], rewinds

    # The indexer's view is the canonical chain's: every stored event's block is still there, and
    # the balances it derives equal balanceOf at its block; reconciliation (R16) holds.
    indexed = int(_scalar(stack, "SELECT last_block FROM indexer_cursor"))
    for number, block_hash in _rows(stack, "SELECT DISTINCT block_number, block_hash FROM chain_events"):
        assert "0x" + bytes(w3.eth.get_block(number)["hash"]).hex() == block_hash, number
    assert replayed_hash in {r.tx_hash for r in _rows(stack, "SELECT tx_hash FROM chain_events")}
    engine = create_engine(stack.database_url)
    try:
        with Session(engine) as session:
            balances = holder_balances(session, at_block=indexed)
            status = reconciliation_status(session)
    finally:
        engine.dispose()
    holders = {h.wallet.address for h in issuer.holders} | set(balances)
    assert balances == {
        address: units
        for address in holders
        if (units := token.functions.balanceOf(address).call(block_identifier=indexed))
    }
    assert status.ok, status.detail

    print(  # noqa: T201 - the figures docs/reliability.md quotes
        f"reorg: depth {depth} > {CONFIRMATIONS} confirmations; before it {len(dropped_mints)} confirmed mints, 1 paid "
        f"redemption, 1 mint and 1 redemption confirming, 1 transfer dropped; {len(resent)} transactions re-sent; "
        f"{figures['mints']} mints confirmed, {figures['redemptions']} redemptions paid; {producer.mined} blocks "
        f"produced; {time.monotonic() - started:.0f} s"
    )
