"""The chain indexer on a real Anvil and on both databases (R16, R54).

Chain actions are done directly with the role keys; where the service would have made them, the
test writes the matching confirmed outbox row and ledger movement the worker would have written.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from compliance.money import UNITS_PER_FEN
from issuer_service.audit.models import AuditLogEntry
from issuer_service.audit.service import verify_audit_log
from issuer_service.chain.gateway import ChainGateway
from issuer_service.chain.permit import sign_permit
from issuer_service.chain.tx import build_tx, sign
from issuer_service.clock import utc_now
from issuer_service.db import make_engine, make_sessionmaker
from issuer_service.ids import new_id
from issuer_service.indexer import service
from issuer_service.indexer.events import ZERO_ADDRESS, explains, outbox_supply_units
from issuer_service.indexer.models import ChainEvent, IndexerCursor
from issuer_service.indexer.service import (
    BlockNotIndexed,
    Indexer,
    ReorgTooDeep,
    check_reconciliation,
    holder_balances,
    reconciliation_status,
)
from issuer_service.outbox.models import ChainTx
from issuer_service.reserves.models import ReservePool
from tests.chain_fixtures import TokenEnv
from tests.service.flow import Staff, add_buffer_capital, new_customer, redemption_body, request_mint, wait_for
from tests.service.service_helpers import bearer

pytestmark = pytest.mark.chain

RESERVE_UNITS = 10**17  # attested generously: R1 is not what these tests are about


# --------------------------------------------------------------------------------------------- helpers
class CountingGateway(ChainGateway):
    """Counts JSON-RPC round trips: every read goes through `_rpc` or `_call`."""

    rpc_calls = 0

    def _rpc(self, fn: Any, *args: Any) -> Any:
        self.rpc_calls += 1
        return super()._rpc(fn, *args)

    def _call(self, fn: Any, block: int | str = "latest") -> Any:
        self.rpc_calls += 1
        return super()._call(fn, block)


class GatedGateway(CountingGateway):
    """Stops inside `token_logs` (the indexer then holds the cursor lock) until released."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading_logs = threading.Event()
        self.release = threading.Event()

    def token_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        self.reading_logs.set()
        assert self.release.wait(30), "the test never released the gated indexer"
        return super().token_logs(from_block, to_block)


class ReorgWhileReadingGateway(CountingGateway):
    """Runs `after_reading_logs` once, between reading the logs and returning them."""

    after_reading_logs: Callable[[], None] | None = None

    def token_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        logs = super().token_logs(from_block, to_block)
        hook, self.after_reading_logs = self.after_reading_logs, None
        if hook is not None:
            hook()
        return logs


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Chain:
    """Token actions done with the role keys, returning receipts."""

    def __init__(self, env: TokenEnv) -> None:
        self.env = env
        self.w3 = env.w3
        self.token = env.token
        self.redemptions = 0

    def holder(self) -> LocalAccount:
        return self.env.new_account(allow=True)

    def mint(self, to: LocalAccount, units: int) -> Any:
        return self.env.send(self.env.keys.minter, self.token.functions.mint(to.address, units))

    def transfer(self, sender: LocalAccount, to: LocalAccount, units: int) -> Any:
        return self.env.send(sender, self.token.functions.transfer(to.address, units))

    def redeem(self, holder: LocalAccount, units: int) -> tuple[Any, list[Any]]:
        """Burn with the holder's permit, as the service's minter does; returns the receipt and
        the outbox args the service would have stored."""
        self.redemptions += 1
        deadline = self.env.now() + 3600
        nonce = self.token.functions.nonces(holder.address).call()
        permit = sign_permit(holder, chain_id=self.w3.eth.chain_id, token=self.token.address,
                             spender=self.env.keys.minter.address, value=units, nonce=nonce, deadline=deadline)
        request_id = Web3.keccak(text=f"indexer-test-redemption-{self.redemptions}")
        args = [holder.address, units, "0x" + request_id.hex(), deadline, permit.v, permit.r, permit.s]
        receipt = self.env.send(self.env.keys.minter, self.token.functions.redeemWithPermit(
            holder.address, units, request_id, deadline, permit.v, permit.r, permit.s))
        return receipt, args

    def signed_transfer(self, sender: LocalAccount, to: LocalAccount, units: int, *, at_block: int) -> str:
        """A raw transfer valid on top of `at_block`, for `anvil_reorg`."""
        nonce = self.w3.eth.get_transaction_count(sender.address, at_block)
        tx = build_tx(self.w3, sender.address, self.token.functions.transfer(to.address, units), nonce=nonce,
                      gas=200_000)
        raw, _ = sign(sender, tx)
        return "0x" + raw.hex()

    def rpc(self, method: str, params: list[Any]) -> Any:
        reply = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        assert "error" not in reply, reply
        return reply["result"]

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def balances(self, *holders: LocalAccount) -> dict[str, int]:
        found = {h.address: self.env.balance(h.address) for h in holders}
        return {address: units for address, units in found.items() if units}


def tx_hash(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def record_service_tx(sessions: sessionmaker[Session], function: str, args: list[Any], receipt: Any, *,
                      status: str = "confirmed") -> None:
    """The outbox row the service would have written, and, once confirmed, the ledger movement
    its handler makes (outstanding_fen follows confirmed mints and burns)."""
    now = utc_now()
    with sessions.begin() as session:
        session.add(ChainTx(
            id=new_id("ctx"), function=function, args_json=json.dumps(args), entity_type="test",
            entity_id=new_id("tst"), status=status, tx_hash=tx_hash(receipt), attempts=1, not_before=now,
            block_number=int(receipt["blockNumber"]) if status == "confirmed" else None,
            created_at=now, updated_at=now,
        ))
        if status == "confirmed":
            pool = session.get(ReservePool, "tcnh")
            assert pool is not None
            pool.outstanding_fen += outbox_supply_units(function, json.dumps(args)) // UNITS_PER_FEN


def fen(amount: int) -> int:
    return amount * UNITS_PER_FEN


def cursor_of(sessions: sessionmaker[Session]) -> IndexerCursor:
    with sessions() as session:
        cursor = session.get(IndexerCursor, "tcnh")
        assert cursor is not None
        return cursor


def stored_events(sessions: sessionmaker[Session]) -> list[ChainEvent]:
    with sessions() as session:
        return list(session.scalars(select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index)))


def status_now(sessions: sessionmaker[Session]) -> service.ReconciliationStatus:
    with sessions() as session:
        return reconciliation_status(session)


def balances_now(sessions: sessionmaker[Session], at_block: int) -> dict[str, int]:
    with sessions() as session:
        return holder_balances(session, at_block=at_block)


def reorg_records(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        entries = session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "indexer.reorg")).all()
        return [dict(entry.data, rule_ids=entry.rule_ids) for entry in entries]


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def chain(token_env: TokenEnv) -> Chain:
    token_env.attest(RESERVE_UNITS)
    return Chain(token_env)


@pytest.fixture
def make_gateway(token_env: TokenEnv) -> Callable[..., CountingGateway]:
    def make(cls: type[CountingGateway] = CountingGateway) -> CountingGateway:
        return cls(token_env.anvil.url, token_env.deployment, token_env.keys, confirmations=1)

    return make


@pytest.fixture
def gateway(make_gateway: Callable[..., CountingGateway]) -> CountingGateway:
    return make_gateway()


@pytest.fixture
def indexer(sessions: sessionmaker[Session], gateway: CountingGateway) -> Indexer:
    return Indexer(sessions, gateway, min_interval_s=0)


def run_until_caught_up(indexer: Indexer, *, max_steps: int = 50) -> int:
    stored = 0
    for _ in range(max_steps):
        before = indexer.gateway.head() - (indexer.gateway.confirmations - 1)
        stored += indexer.step()
        if cursor_of(indexer.sessions).last_block >= before:
            return stored
    raise AssertionError(f"the indexer did not catch up within {max_steps} steps")


# --------------------------------------------------------------------------------------------- pure rules
def test_only_matching_outbox_functions_explain_a_supply_change() -> None:
    assert explains("mint", "mint")
    assert explains("burn", "redeemWithPermit") and explains("burn", "burnFrozen")
    assert not explains("mint", None) and not explains("burn", None)
    assert not explains("mint", "burnFrozen") and not explains("burn", "mint")
    assert outbox_supply_units("burnFrozen", json.dumps(["0xabc", 70_000, "0x01"])) == -70_000


# --------------------------------------------------------------------------------------------- indexing
def test_step_stores_every_transfer_and_redemption_and_moves_the_cursor_to_the_head(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], token_env: TokenEnv) -> None:
    alice, bob = chain.holder(), chain.holder()
    minted = chain.mint(alice, fen(1_000))
    moved = chain.transfer(alice, bob, fen(300))
    burned, _ = chain.redeem(bob, fen(100))

    assert indexer.step() == 4

    events = stored_events(sessions)
    assert [(e.event, e.from_address, e.to_address, int(e.amount_units), e.tx_hash) for e in events] == [
        ("Transfer", ZERO_ADDRESS, alice.address, fen(1_000), tx_hash(minted)),
        ("Transfer", alice.address, bob.address, fen(300), tx_hash(moved)),
        ("Transfer", bob.address, ZERO_ADDRESS, fen(100), tx_hash(burned)),
        ("Redeemed", bob.address, None, fen(100), tx_hash(burned)),
    ]
    assert events[3].request_id == "0x" + Web3.keccak(text="indexer-test-redemption-1").hex()
    assert [e.explained for e in events] == [False, None, False, None]  # no outbox rows in this test
    cursor = cursor_of(sessions)
    head = chain.head()
    assert cursor.last_block == head
    assert cursor.last_block_hash == "0x" + bytes(token_env.w3.eth.get_block(head)["hash"]).hex()
    assert balances_now(sessions, head) == chain.balances(alice, bob) == {
        alice.address: fen(700), bob.address: fen(200)}


def test_stepping_again_with_nothing_new_stores_nothing_and_costs_two_rpcs(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    alice = chain.holder()
    chain.mint(alice, fen(5))
    assert indexer.step() == 1
    cursor_before = cursor_of(sessions)

    gateway.rpc_calls = 0
    assert indexer.step() == 0
    assert indexer.step() == 0

    assert gateway.rpc_calls == 4  # head + the cursor block's hash, per step
    assert len(stored_events(sessions)) == 1
    cursor_after = cursor_of(sessions)
    assert (cursor_after.last_block, cursor_after.last_block_hash) == (
        cursor_before.last_block, cursor_before.last_block_hash)


def test_a_caught_up_indexer_asks_the_node_at_most_every_min_interval(
        chain: Chain, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    clock = FakeClock()
    indexer = Indexer(sessions, gateway, min_interval_s=0.5, clock=clock)
    alice = chain.holder()
    chain.mint(alice, fen(5))
    assert indexer.step() == 1

    gateway.rpc_calls = 0
    clock.now += 0.1
    chain.mint(alice, fen(6))
    assert indexer.step() == 0
    assert gateway.rpc_calls == 0  # throttled: not even the head was asked

    clock.now += 0.5
    assert indexer.step() == 1


def test_catching_up_reads_batch_blocks_at_a_time_without_pausing(
        chain: Chain, sessions: sessionmaker[Session], gateway: CountingGateway, token_env: TokenEnv) -> None:
    clock = FakeClock()  # never advances: only a behind indexer may run again
    indexer = Indexer(sessions, gateway, batch_blocks=2, min_interval_s=0.5, clock=clock)
    alice = chain.holder()
    for amount in (1, 2, 3, 4, 5):
        chain.mint(alice, fen(amount))
    head = chain.head()
    start = token_env.deployment.block_number

    cursors: list[int] = []
    while not cursors or cursors[-1] < head:
        indexer.step()
        cursors.append(cursor_of(sessions).last_block)
        assert len(cursors) < 100

    assert cursors[0] == start + 1  # blocks start and start + 1
    assert all(b - a <= 2 for a, b in zip(cursors, cursors[1:], strict=False))
    assert len(stored_events(sessions)) == 5
    gateway.rpc_calls = 0
    assert indexer.step() == 0 and gateway.rpc_calls == 0  # caught up: now it pauses


def test_two_indexers_never_index_the_same_range_twice(
        chain: Chain, database_url: str, sessions: sessionmaker[Session],
        make_gateway: Callable[..., CountingGateway]) -> None:
    alice, bob = chain.holder(), chain.holder()
    chain.mint(alice, fen(10))
    chain.transfer(alice, bob, fen(4))
    gated = make_gateway(GatedGateway)
    assert isinstance(gated, GatedGateway)
    other_engine = make_engine(database_url)  # a second connection pool: another process's view
    first = Indexer(sessions, gated, min_interval_s=0)
    second = Indexer(make_sessionmaker(other_engine), make_gateway(), min_interval_s=0)
    results: dict[str, int] = {}

    def run(name: str, indexer: Indexer) -> None:
        results[name] = indexer.step()

    first_thread = threading.Thread(target=run, args=("first", first))
    first_thread.start()
    assert gated.reading_logs.wait(30)  # the first indexer is asking the node (it created the cursor)
    # It holds no lock while the node answers: the second indexes the range meanwhile...
    run("second", second)
    gated.release.set()
    first_thread.join(30)
    other_engine.dispose()

    # ...and the first, finding the cursor moved past what it read, stores nothing.
    assert results == {"first": 0, "second": 2}
    assert len(stored_events(sessions)) == 2
    assert cursor_of(sessions).last_block == chain.head()


def test_amounts_above_2_to_the_53_units_are_stored_and_summed_exactly(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], token_env: TokenEnv) -> None:
    big = 2**53 + 1  # a float cannot hold this
    alice, bob = chain.holder(), chain.holder()
    chain.mint(alice, big)
    chain.mint(bob, big)
    chain.transfer(alice, bob, 1)

    run_until_caught_up(indexer)

    assert balances_now(sessions, chain.head()) == {alice.address: big - 1, bob.address: big + 1}
    assert status_now(sessions).chain_supply_units == 2 * big == token_env.token.functions.totalSupply().call()


# --------------------------------------------------------------------------------------------- balances
def test_holder_balances_at_a_past_block_match_balance_of_at_that_block(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    alice, bob, carol = chain.holder(), chain.holder(), chain.holder()
    chain.mint(alice, fen(900))
    middle = int(chain.transfer(alice, bob, fen(250))["blockNumber"])
    chain.transfer(bob, carol, fen(250))  # bob is back to zero: left out
    chain.redeem(alice, fen(650))  # alice too
    run_until_caught_up(indexer)
    head = chain.head()

    for block in (middle, head):
        expected = {h.address: gateway.balance_of(h.address, block) for h in (alice, bob, carol)}
        assert balances_now(sessions, block) == {a: units for a, units in expected.items() if units}
    assert balances_now(sessions, head) == {carol.address: fen(250)}


def test_holder_balances_refuse_a_block_the_indexer_has_not_reached(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session]) -> None:
    alice = chain.holder()
    with pytest.raises(BlockNotIndexed, match="has not run yet"):
        balances_now(sessions, chain.head())
    indexer.step()
    chain.mint(alice, fen(1))
    with pytest.raises(BlockNotIndexed, match=f"has reached block {chain.head() - 1}"):
        balances_now(sessions, chain.head())


# --------------------------------------------------------------------------------------------- reconciliation
def test_service_made_mints_and_redemptions_are_explained_and_reconcile(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    alice, bob = chain.holder(), chain.holder()
    record_service_tx(sessions, "mint", [alice.address, fen(1_000)], chain.mint(alice, fen(1_000)))
    chain.transfer(alice, bob, fen(400))
    receipt, args = chain.redeem(bob, fen(150))
    record_service_tx(sessions, "redeemWithPermit", args, receipt)

    run_until_caught_up(indexer)

    assert [e.explained for e in stored_events(sessions) if e.event == "Transfer"] == [True, None, True]
    status = status_now(sessions)
    assert status.ok, status.detail
    assert status.unexplained == 0
    assert status.chain_supply_units == status.ledger_supply_units == fen(850) == gateway.total_supply()
    assert status.indexed_block == chain.head()
    assert check_reconciliation(sessions, gateway).ok


def test_mint_outside_the_service_is_flagged_unexplained_and_fails_reconciliation(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    alice = chain.holder()
    record_service_tx(sessions, "mint", [alice.address, fen(100)], chain.mint(alice, fen(100)))
    rogue = chain.mint(alice, fen(7))  # signed with the minter key, but no outbox row

    with caplog.at_level(logging.WARNING, logger="issuer_service.indexer"):
        run_until_caught_up(indexer)

    flagged = [e for e in stored_events(sessions) if e.explained is False]
    assert [(e.tx_hash, int(e.amount_units)) for e in flagged] == [(tx_hash(rogue), fen(7))]
    assert tx_hash(rogue) in caplog.text
    status = status_now(sessions)
    assert not status.ok
    assert status.unexplained == 1
    assert (status.chain_supply_units, status.ledger_supply_units) == (fen(107), fen(100))
    assert "1 supply change(s) on chain match no service transaction" in status.detail
    assert "differs from ledger supply" in status.detail


def test_a_mint_the_worker_confirmed_above_the_indexed_block_is_no_false_alarm(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session]) -> None:
    alice = chain.holder()
    record_service_tx(sessions, "mint", [alice.address, fen(100)], chain.mint(alice, fen(100)))
    run_until_caught_up(indexer)
    record_service_tx(sessions, "mint", [alice.address, fen(30)], chain.mint(alice, fen(30)))  # not indexed yet

    lagging = status_now(sessions)
    assert lagging.ok, lagging.detail
    assert lagging.chain_supply_units == lagging.ledger_supply_units == fen(100)

    run_until_caught_up(indexer)
    caught_up = status_now(sessions)
    assert caught_up.ok, caught_up.detail
    assert caught_up.chain_supply_units == caught_up.ledger_supply_units == fen(130)


def test_a_burn_the_indexer_read_before_the_worker_confirmed_it_is_no_false_alarm(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session]) -> None:
    alice = chain.holder()
    record_service_tx(sessions, "mint", [alice.address, fen(100)], chain.mint(alice, fen(100)))
    receipt, args = chain.redeem(alice, fen(40))
    record_service_tx(sessions, "redeemWithPermit", args, receipt, status="sent")  # worker not done yet

    run_until_caught_up(indexer)

    status = status_now(sessions)
    assert status.ok, status.detail
    assert status.unexplained == 0  # signed and sent rows explain: their hash is known before broadcast
    assert status.chain_supply_units == status.ledger_supply_units == fen(60)


def test_mints_and_redemptions_made_through_the_api_reconcile_and_readiness_says_so(
        chain_client: Any, staff: Staff, database_url: str, gateway: CountingGateway) -> None:
    client = chain_client  # the app's own worker (and its indexer) run in the background meanwhile
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="500.00")
    accepted = request_mint(client, alice, "500.00")
    assert accepted.status_code == 202, accepted.text
    assert wait_for(client, f"/v1/mints/{accepted.json()['id']}", alice.key, {"confirmed", "failed"})[
        "status"] == "confirmed"
    redeemed = client.post("/v1/redemptions", json=redemption_body(client, alice, "200.00"),
                           headers=bearer(alice.key, **{"Idempotency-Key": "indexer-redeem-1"}))
    assert redeemed.status_code == 202, redeemed.text
    assert wait_for(client, f"/v1/redemptions/{redeemed.json()['id']}", alice.key, {"paid", "failed"})[
        "status"] == "paid"
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)

    run_until_caught_up(Indexer(sessions, gateway, min_interval_s=0))  # shares the cursor lock with the app's

    status = status_now(sessions)
    engine.dispose()
    assert status.ok and status.unexplained == 0, status.detail
    assert status.chain_supply_units == status.ledger_supply_units == fen(30_000) == gateway.total_supply()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["reconciliation"]["ok"] is True


def test_check_reconciliation_warns_when_total_supply_disagrees_with_the_indexed_events(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway,
        caplog: pytest.LogCaptureFixture) -> None:
    alice = chain.holder()
    minted = chain.mint(alice, fen(12))
    run_until_caught_up(indexer)
    with sessions.begin() as session:  # as if the node had never returned this log
        session.execute(delete(ChainEvent).where(ChainEvent.tx_hash == tx_hash(minted)))
    assert status_now(sessions).ok  # the database alone is consistent: 0 on both sides

    with caplog.at_level(logging.WARNING, logger="issuer_service.reconciliation"):
        status = check_reconciliation(sessions, gateway)

    assert not status.ok
    assert f"totalSupply() at block {status.indexed_block} is {fen(12)} units" in status.detail
    warnings = [r for r in caplog.records if r.name == "issuer_service.reconciliation"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_reconciliation_before_the_indexer_ran_is_ok_only_without_outstanding_supply(
        sessions: sessionmaker[Session]) -> None:
    fresh = status_now(sessions)
    assert fresh.ok and fresh.chain_supply_units is None, fresh.detail
    with sessions.begin() as session:
        pool = session.get(ReservePool, "tcnh")
        assert pool is not None
        pool.outstanding_fen = 5
    assert not status_now(sessions).ok


# --------------------------------------------------------------------------------------------- reorgs
def test_reorg_below_the_cursor_rewinds_drops_orphaned_events_audits_and_reindexes(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    alice, bob = chain.holder(), chain.holder()
    record_service_tx(sessions, "mint", [alice.address, fen(1_000)], chain.mint(alice, fen(1_000)))
    agreed = chain.head()
    orphaned_transfer = chain.transfer(alice, bob, fen(300))
    orphaned_mint = chain.mint(bob, fen(500))
    record_service_tx(sessions, "mint", [bob.address, fen(500)], orphaned_mint)
    run_until_caught_up(indexer)
    old_cursor = cursor_of(sessions).last_block
    assert old_cursor == agreed + 2

    # Replace the two newest blocks (same height: the head number does not move).
    replacement = chain.signed_transfer(alice, bob, fen(50), at_block=agreed)
    chain.rpc("anvil_reorg", [2, [[replacement, 0]]])
    assert chain.head() == old_cursor

    assert indexer.step() == 0  # the rewind
    assert cursor_of(sessions).last_block == agreed
    assert reorg_records(sessions) == [{
        "from_block": old_cursor, "to_block": agreed, "depth": 2, "dropped_events": 2,
        "dropped_tx_hashes": sorted([tx_hash(orphaned_transfer), tx_hash(orphaned_mint)]), "rule_ids": ["R16"],
    }]
    assert indexer.step() == 1  # the replacement transfer

    head = chain.head()
    assert balances_now(sessions, head) == chain.balances(alice, bob) == {
        alice.address: fen(950), bob.address: fen(50)}
    kept = {e.tx_hash for e in stored_events(sessions)}
    assert not kept & {tx_hash(orphaned_transfer), tx_hash(orphaned_mint)}
    with sessions() as session:
        assert verify_audit_log(session).ok
    # The service had confirmed the orphaned mint: R16 reconciliation must now say so.
    status = status_now(sessions)
    assert not status.ok
    assert (status.chain_supply_units, status.ledger_supply_units) == (fen(1_000), fen(1_500))
    assert status.chain_supply_units == gateway.total_supply(head)


def test_reorg_to_a_shorter_chain_rewinds_to_the_deployment_and_reindexes_the_new_history(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], token_env: TokenEnv) -> None:
    alice, bob = chain.holder(), chain.holder()
    fork = chain.rpc("evm_snapshot", [])
    chain.mint(alice, fen(80))  # rogue, but about to vanish
    chain.transfer(alice, bob, fen(20))
    run_until_caught_up(indexer)
    old_cursor = cursor_of(sessions).last_block
    assert status_now(sessions).unexplained == 1

    chain.rpc("evm_revert", [fork])
    assert chain.head() < old_cursor
    assert indexer.step() == 0

    start = token_env.deployment.block_number
    cursor = cursor_of(sessions)
    assert (cursor.last_block, cursor.last_block_hash) == (start - 1, None)  # no stored event survived
    [record] = reorg_records(sessions)
    assert (record["from_block"], record["to_block"], record["dropped_events"]) == (old_cursor, start - 1, 2)
    assert stored_events(sessions) == []

    record_service_tx(sessions, "mint", [bob.address, fen(33)], chain.mint(bob, fen(33)))
    run_until_caught_up(indexer)
    assert balances_now(sessions, chain.head()) == chain.balances(alice, bob) == {bob.address: fen(33)}
    status = status_now(sessions)
    assert status.ok and status.unexplained == 0, status.detail


def test_logs_read_from_a_chain_that_reorganised_meanwhile_are_not_stored(
        chain: Chain, sessions: sessionmaker[Session], make_gateway: Callable[..., CountingGateway]) -> None:
    gateway = make_gateway(ReorgWhileReadingGateway)
    assert isinstance(gateway, ReorgWhileReadingGateway)
    indexer = Indexer(sessions, gateway, min_interval_s=0)
    alice, bob = chain.holder(), chain.holder()
    chain.mint(alice, fen(100))
    run_until_caught_up(indexer)
    agreed = chain.head()
    stale = chain.transfer(alice, bob, fen(10))
    replacement = chain.signed_transfer(alice, bob, fen(20), at_block=agreed)
    gateway.after_reading_logs = lambda: chain.rpc("anvil_reorg", [1, [[replacement, 0]]])

    assert indexer.step() == 0  # the hash of the last block changed under the read: nothing kept
    assert cursor_of(sessions).last_block == agreed
    assert tx_hash(stale) not in {e.tx_hash for e in stored_events(sessions)}

    assert indexer.step() == 1
    assert reorg_records(sessions) == []  # nothing wrong was ever stored, so nothing to rewind
    assert balances_now(sessions, chain.head()) == chain.balances(alice, bob) == {
        alice.address: fen(80), bob.address: fen(20)}


def test_a_reorg_deeper_than_the_checked_blocks_changes_nothing_and_raises(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    alice = chain.holder()
    fork = chain.rpc("evm_snapshot", [])
    chain.mint(alice, fen(1))
    chain.mint(alice, fen(2))
    chain.mint(alice, fen(3))
    run_until_caught_up(indexer)
    before = cursor_of(sessions)
    chain.rpc("evm_revert", [fork])
    monkeypatch.setattr(service, "MAX_REORG_CHECKS", 1)

    with pytest.raises(ReorgTooDeep):
        indexer.step()

    after = cursor_of(sessions)
    assert (after.last_block, after.last_block_hash) == (before.last_block, before.last_block_hash)
    assert len(stored_events(sessions)) == 3
    assert reorg_records(sessions) == []


def test_replaying_an_indexed_range_stores_no_event_twice(
        chain: Chain, indexer: Indexer, sessions: sessionmaker[Session], gateway: CountingGateway) -> None:
    alice = chain.holder()
    chain.mint(alice, fen(3))
    run_until_caught_up(indexer)
    head = chain.head()
    with sessions.begin() as session:  # as if a step had stored the events but not moved the cursor
        cursor = session.get(IndexerCursor, "tcnh")
        assert cursor is not None
        cursor.last_block, cursor.last_block_hash = head - 1, gateway.block_hash(head - 1)

    assert indexer.step() == 0

    assert len(stored_events(sessions)) == 1
    assert cursor_of(sessions).last_block == head
