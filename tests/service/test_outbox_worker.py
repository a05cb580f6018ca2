"""The outbox worker, stepped by hand against the session Anvil: batched JSON-RPC (one round trip per
step, whatever the batch size), confirmation in the step that broadcasts, idempotent re-broadcast,
re-signing when another transaction took the nonce, per-row failure and backoff, the R1 gate with
its attestation, and the parallel loops of `run_forever`."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer_service.app import create_app
from issuer_service.chain.gateway import SIGNER_ROLE, ChainGateway
from issuer_service.chain.tx import send_and_wait
from issuer_service.indexer.service import Indexer
from issuer_service.outbox import repository
from issuer_service.outbox.models import ChainTx, SignerNonce
from issuer_service.outbox.reorg import ReorgRepair
from issuer_service.outbox.repository import REFUSALS_REPORTED
from issuer_service.outbox.worker import BLOCK_TIMESTAMP, OutboxWorker
from issuer_service.reserves.models import ReservePool
from issuer_service.worker.runner import build_worker
from tests.chain_fixtures import TokenEnv
from tests.service.flow import (
    Customer,
    Staff,
    add_buffer_capital,
    bind_wallet,
    deposit_fiat,
    onboard,
    redemption_body,
    request_mint,
    staff_keys,
)
from tests.service.service_helpers import bearer, make_settings

UNITS_PER_CNH = 1_000_000


@dataclass
class Rig:
    """The API without its background worker, and a worker the test steps itself."""

    client: TestClient
    staff: Staff
    worker: OutboxWorker
    sessions: sessionmaker[Session]
    gateway: ChainGateway

    def settle(self, rounds: int = 50) -> None:
        """Step the worker until no outbox row is open (or fail)."""
        for _ in range(rounds):
            self.worker.run_once()
            with self.sessions() as session:
                depth = repository.depth(session)
            if not any(depth.get(s) for s in ("pending", "signed", "sent")):
                return
            time.sleep(0.02)
        raise AssertionError(f"the outbox did not settle: {depth}")

    def customer(self, name: str, deposit: str) -> Customer:
        customer_id, key = onboard(self.client, self.staff, name=name)
        wallet = bind_wallet(self.client, key, wait=False)
        self.settle()  # the allow-listing goes through the outbox
        deposit_fiat(self.client, self.staff, customer_id, deposit)
        return Customer(id=customer_id, key=key, wallet=wallet)

    def mints(self, customer: Customer, count: int, amount: str = "1.00") -> list[str]:
        ids = []
        for _ in range(count):
            response = request_mint(self.client, customer, amount)
            assert response.status_code == 202, response.text
            ids.append(str(response.json()["id"]))
        return ids

    def rows(self, function: str = "mint") -> list[ChainTx]:
        with self.sessions() as session:
            stmt = select(ChainTx).where(ChainTx.function == function).order_by(ChainTx.created_at, ChainTx.id)
            return list(session.scalars(stmt))

    def mint_status(self, customer: Customer, mint_id: str) -> str:
        return str(self.client.get(f"/v1/mints/{mint_id}", headers=bearer(customer.key)).json()["status"])


@contextmanager
def _rig(database_url: str, tmp_path: Path, gateway: ChainGateway) -> Iterator[Rig]:
    app = create_app(make_settings(database_url, tmp_path, worker_in_process=False), gateway=gateway)
    with TestClient(app) as client:
        yield Rig(
            client=client,
            staff=staff_keys(client),
            worker=_worker(app.state.sessionmaker, gateway, app.state.profile),
            sessions=app.state.sessionmaker,
            gateway=gateway,
        )


def _worker(sessions: sessionmaker[Session], gateway: ChainGateway, profile: Any) -> OutboxWorker:
    worker = build_worker(sessions, gateway, profile)
    worker.extra_steps = []  # the indexer and friends have their own tests
    return worker


@pytest.fixture
def rig(database_url: str, tmp_path: Path, gateway: ChainGateway) -> Iterator[Rig]:
    with _rig(database_url, tmp_path, gateway) as built:
        yield built


@pytest.fixture
def pg_rig(pg_database_url: str, tmp_path: Path, gateway: ChainGateway) -> Iterator[Rig]:
    """The rig on PostgreSQL only: for workers whose transactions interleave (on SQLite every
    transaction takes the database's write lock, so they cannot)."""
    with _rig(pg_database_url, tmp_path, gateway) as built:
        yield built


@pytest.fixture
def rpc_calls(gateway: ChainGateway, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """HTTP round trips to the node, by kind: "single" requests and "batch" requests."""
    calls: Counter[str] = Counter()
    provider = gateway.w3.provider
    single, batch = provider.make_request, provider.make_batch_request  # type: ignore[attr-defined]

    def counted_single(*args: Any, **kwargs: Any) -> Any:
        calls["single"] += 1
        return single(*args, **kwargs)

    def counted_batch(*args: Any, **kwargs: Any) -> Any:
        calls["batch"] += 1
        return batch(*args, **kwargs)

    monkeypatch.setattr(provider, "make_request", counted_single)
    monkeypatch.setattr(provider, "make_batch_request", counted_batch)
    return calls


def _confirm_stragglers(rig: Rig) -> int:
    """Confirm rows whose receipts Anvil published just after the sending step looked (automine
    mines asynchronously; on a loaded machine the last receipts of a batch can lag)."""
    confirmed = 0
    deadline = time.monotonic() + 10
    while any(r.status == "sent" for r in rig.rows()) and time.monotonic() < deadline:
        time.sleep(0.05)
        confirmed += rig.worker.confirm_sent()
    return confirmed


def _primed(rig: Rig) -> Customer:
    """A customer whose first mint is confirmed, so the attestation and the minter's nonce counter exist."""
    add_buffer_capital(rig.client, rig.staff, "100.00")
    alice = rig.customer("Alice Ltd", deposit="100.00")
    (first,) = rig.mints(alice, 1)
    rig.settle()
    assert rig.mint_status(alice, first) == "confirmed"
    return alice


def test_a_batch_of_mints_is_signed_sent_and_confirmed_in_batched_round_trips(
    rig: Rig, gateway: ChainGateway, rpc_calls: Counter[str]
) -> None:  # R1
    alice = _primed(rig)
    ids = rig.mints(alice, 20)
    rpc_calls.clear()

    assert rig.worker.sign_pending() == 20
    assert rpc_calls == {"batch": 1}  # block (fees, timestamp), reserve attestation, supply: one batch
    assert {r.status for r in rig.rows()[1:]} == {"signed"}
    assert [r.nonce for r in rig.rows()[1:]] == list(range(rig.rows()[1].nonce or 0, (rig.rows()[1].nonce or 0) + 20))

    rpc_calls.clear()
    assert rig.worker.broadcast_signed() == 20
    assert rpc_calls == {"batch": 2}  # every eth_sendRawTransaction, then every receipt
    # Automine mines each one as it arrives, so they are usually confirmed in the step that sent them,
    # handlers in the same transaction. On a loaded machine Anvil may publish receipts a moment later
    # (the whole batch's, seen here under load): those stragglers are confirmed by the next steps, each
    # in one round trip for all of them.
    stragglers = [r for r in rig.rows() if r.status == "sent"]
    if stragglers:
        rpc_calls.clear()
        assert _confirm_stragglers(rig) == len(stragglers)
        assert rpc_calls["single"] == 0  # each retry is one batch for all of them
    assert {r.status for r in rig.rows()} == {"confirmed"}
    assert all(r.block_number and r.block_hash and r.gas_used for r in rig.rows())
    assert {rig.mint_status(alice, i) for i in ids} == {"confirmed"}
    assert gateway.balance_of(alice.wallet.address) == 21 * UNITS_PER_CNH


def _reads_by_table(rig: Rig, step: Callable[[], int]) -> tuple[int, Counter[str]]:
    """Run `step`, counting the SELECTs it sends per table (mints, reserve pool, fiat accounts,
    webhook subscriptions)."""
    engine = rig.sessions.kw["bind"]
    reads: Counter[str] = Counter()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            for table in ("mints", "reserve_pool", "fiat_accounts", "webhook_subscriptions"):
                if f"FROM {table}" in statement:
                    reads[table] += 1

    event.listen(engine, "before_cursor_execute", seen)
    try:
        done = step()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return done, reads


def test_a_batch_of_mints_locks_its_rows_once_per_step_not_once_per_mint(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:  # R1, R10
    alice = _primed(rig)
    ids = rig.mints(alice, 20)

    signed, reads = _reads_by_table(rig, rig.worker.sign_pending)
    assert signed == 20
    # The 20 mints locked, and their customers' webhook subscriptions read, in one query each.
    assert reads == {"mints": 1, "webhook_subscriptions": 1}

    # A node that mines the batch before the step asks for receipts (Anvil does, unless the machine
    # is busy), so that the step confirms all 20 and the reads per batch are what is measured.
    hashes = [r.tx_hash or "" for r in rig.rows() if r.status == "signed"]
    real_broadcast_many = rig.gateway.broadcast_many

    def broadcast_then_mined(raws: Any) -> Any:
        answers = real_broadcast_many(raws)
        deadline = time.monotonic() + 30
        while None in rig.gateway.receipts(hashes).values() and time.monotonic() < deadline:
            time.sleep(0.05)
        return answers

    monkeypatch.setattr(rig.gateway, "broadcast_many", broadcast_then_mined)
    sent, reads = _reads_by_table(rig, rig.worker.broadcast_signed)
    assert sent == 20
    confirmed = [r for r in rig.rows() if r.status == "confirmed"]
    assert len(confirmed) > 1  # the step confirmed several mints against the pool and the account
    # One read each for the batch: the pool and the customer's account stay locked to the commit.
    assert reads == {"mints": 1, "reserve_pool": 1, "fiat_accounts": 1, "webhook_subscriptions": 1}
    _confirm_stragglers(rig)
    assert {rig.mint_status(alice, i) for i in ids} == {"confirmed"}
    with rig.sessions() as session:
        pool = session.scalars(select(ReservePool)).one()
        assert pool.in_flight_mint_fen == 0 and pool.outstanding_fen == 21 * 100  # 21 mints of 1.00 CNH


def test_accepting_a_mint_stays_within_its_statement_budget(rig: Rig) -> None:  # R1, R10, R12
    """Every statement costs API CPU (docs/benchmarks.md): no savepoint for the idempotency key,
    the mint row inserted once with its outbox id and final status, 26 statements in all on
    PostgreSQL (the 26th asks whether a freeze of the wallet is on its way to the chain, R24); and
    the reserve pool, which every mint locks, is locked for the last 10 only."""
    alice = _primed(rig)
    engine = rig.sessions.kw["bind"]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = request_mint(rig.client, alice, "1.00")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 202, response.text
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert not [s for s in statements if s.startswith("UPDATE mints SET chain_tx_id")]
    assert not [s for s in statements if s.startswith("UPDATE mints SET status")]
    # SQLite has no SELECT ... FOR UPDATE but the same statements otherwise; BEGIN IMMEDIATE is one more.
    statements = [s for s in statements if not s.upper().startswith("BEGIN")]
    assert len(statements) <= 26, statements
    pool_reads = [i for i, s in enumerate(statements) if s.startswith("SELECT reserve_pool.")]
    assert len(pool_reads) == 2  # a first look without the lock, then the locked read at commit
    assert len(statements) - pool_reads[-1] <= 10, statements[pool_reads[-1] :]


def test_rebroadcast_after_a_crash_between_send_and_commit_confirms_the_same_bytes_without_re_signing(
    rig: Rig, gateway: ChainGateway
) -> None:
    alice = _primed(rig)
    ids = rig.mints(alice, 3)
    rig.worker.sign_pending()
    signed = {r.id: (r.nonce, r.tx_hash) for r in rig.rows()[1:]}
    with rig.sessions() as session:
        counter_before = session.scalars(select(SignerNonce.next_nonce)).all()
    for row in rig.rows()[1:]:  # a previous worker sent them and died before recording it
        assert gateway.broadcast(row.raw_tx or b"") == "sent"

    assert rig.worker.broadcast_signed() == 3  # "nonce too low", but the receipts are ours
    assert {r.id: (r.nonce, r.tx_hash) for r in rig.rows()[1:]} == signed
    assert {r.status for r in rig.rows()} == {"confirmed"}
    with rig.sessions() as session:
        assert session.scalars(select(SignerNonce.next_nonce)).all() == counter_before
    assert {rig.mint_status(alice, i) for i in ids} == {"confirmed"}
    assert gateway.balance_of(alice.wallet.address) == 4 * UNITS_PER_CNH  # not one mint doubled


def _sent_long_ago(rig: Rig, row_id: str) -> None:
    """Move a sent row's send time back past the worker's re-broadcast delay."""
    with rig.sessions.begin() as session:
        row = session.get(ChainTx, row_id)
        assert row is not None and row.sent_at is not None
        row.sent_at -= rig.worker.rebroadcast_after


def _mint_tx_hash(rig: Rig, customer: Customer, mint_id: str) -> str | None:
    return rig.client.get(f"/v1/mints/{mint_id}", headers=bearer(customer.key)).json()["tx_hash"]


def test_a_nonce_taken_by_another_transaction_is_re_signed_with_a_fresh_nonce_once_its_receipt_stays_missing(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    rig.worker.sign_pending()
    row = rig.rows()[-1]
    taken, first_hash = row.nonce, row.tx_hash
    assert taken is not None
    # Someone else used the minter key with that nonce (a shared key, or a manual transaction).
    minter = token_env.keys.minter
    other = minter.sign_transaction(
        {
            "chainId": gateway.chain_id,
            "nonce": taken,
            "to": minter.address,
            "value": 0,
            "gas": 21_000,
            "type": 2,
            **gateway.fees(),
        }
    )
    token_env.w3.eth.wait_for_transaction_receipt(token_env.w3.eth.send_raw_transaction(other.raw_transaction))

    # "Nonce too low" and no receipt: one look is not proof that the nonce went elsewhere.
    rig.worker.broadcast_signed()
    waiting = rig.rows()[-1]
    assert (waiting.status, waiting.nonce, waiting.tx_hash) == ("sent", taken, first_hash)
    assert rig.worker.confirm_sent() == 0 and rig.rows()[-1].status == "sent"

    _sent_long_ago(rig, row.id)  # still no receipt after the re-broadcast delay: now it is re-signed
    rig.worker.confirm_sent()
    again = rig.rows()[-1]
    assert (again.status, again.nonce, again.tx_hash, again.raw_tx) == ("pending", None, None, None)
    assert (again.last_error or "").startswith("re-signed: nonce")

    rig.settle()
    final = rig.rows()[-1]
    assert final.status == "confirmed" and final.nonce == taken + 1 and final.tx_hash != first_hash
    assert rig.mint_status(alice, mint_id) == "confirmed"
    assert _mint_tx_hash(rig, alice, mint_id) == final.tx_hash  # the mint names the hash that minted it
    audit = rig.client.get("/v1/audit-log", params={"entity_id": mint_id}, headers=bearer(rig.staff.auditor)).json()
    re_signed = [e for e in audit["items"] if e["action"] == "chain_tx.re_signed"]
    assert [e["data"]["tx_hash"] for e in re_signed] == [final.tx_hash], audit["items"]
    assert gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH


def _wait_mined(gateway: ChainGateway, tx_hash: str, timeout: float = 10.0) -> None:
    """Anvil mines a sent transaction at once, but on a busy machine not always before the next call."""
    deadline = time.monotonic() + timeout
    while gateway.receipts([tx_hash]).get(tx_hash) is None:
        assert time.monotonic() < deadline, f"{tx_hash} was not mined within {timeout} s"
        time.sleep(0.02)


def test_a_mined_transaction_whose_receipt_the_node_cannot_show_yet_is_waited_for_not_re_signed(
    rig: Rig, gateway: ChainGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    rig.worker.sign_pending()
    row = rig.rows()[-1]
    assert gateway.broadcast(row.raw_tx or b"") == "sent"  # a worker sent it and died before recording it
    _wait_mined(gateway, row.tx_hash or "")  # so that sending it again says "nonce too low"
    # The node answering the receipt lookup lags behind the one that said "nonce too low".
    real_receipts = gateway.receipts
    monkeypatch.setattr(gateway, "receipts", lambda hashes: dict.fromkeys(hashes))

    rig.worker.broadcast_signed()
    waiting = rig.rows()[-1]
    assert (waiting.status, waiting.nonce, waiting.tx_hash) == ("sent", row.nonce, row.tx_hash)
    assert "no receipt" in (waiting.last_error or "")

    monkeypatch.setattr(gateway, "receipts", real_receipts)  # the node catches up
    assert rig.worker.confirm_sent() == 1
    final = rig.rows()[-1]
    assert (final.status, final.nonce, final.tx_hash) == ("confirmed", row.nonce, row.tx_hash)
    assert _mint_tx_hash(rig, alice, mint_id) == row.tx_hash
    assert gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH  # minted once, not twice


def test_a_row_the_node_refuses_backs_off_alone_while_the_rest_of_its_batch_is_confirmed(
    rig: Rig, gateway: ChainGateway, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _primed(rig)
    rig.mints(alice, 3)
    rig.worker.sign_pending()
    last = rig.rows()[-1]
    with rig.sessions.begin() as session:  # the highest nonce, so the others have no gap before them
        session.get(ChainTx, last.id).raw_tx = b"\x02not a transaction"  # type: ignore[union-attr]

    rig.worker.broadcast_signed()
    _confirm_stragglers(rig)
    rows = rig.rows()
    assert [r.status for r in rows[1:]] == ["confirmed", "confirmed", "signed"]
    refused = rows[-1]
    assert refused.attempts == 1 and "node refused the transaction" in (refused.last_error or "")
    assert refused.not_before > rows[1].updated_at  # backing off, not retried at once
    assert gateway.balance_of(alice.wallet.address) == 3 * UNITS_PER_CNH
    # The operator sees the refusal in the log, naming the row and its nonce (later ones wait behind it).
    said = [r.getMessage() for r in caplog.records if r.name == "issuer_service.worker"]
    assert any(refused.id in line and f"nonce {refused.nonce} " in line and "retrying" in line for line in said), said


def _due_now(rig: Rig) -> None:
    """Skip the backoff of every open row (what `UPDATE chain_txs SET not_before = now()` does)."""
    with rig.sessions.begin() as session:
        for row in session.scalars(select(ChainTx).where(ChainTx.status.in_(("pending", "signed", "sent")))):
            row.not_before = row.created_at


@contextmanager
def _dropped_by_the_node(rig: Rig) -> Iterator[ChainTx]:
    """The pending mint signed and sent with mining off, then dropped from the node's pool, and
    sent long enough ago that the confirming step sends it again. Mining is back on afterwards."""
    make_request = rig.gateway.w3.provider.make_request  # type: ignore[attr-defined]
    make_request("evm_setAutomine", [False])
    try:
        assert rig.worker.sign_pending() == 1
        assert rig.worker.broadcast_signed() == 1
        (row,) = [r for r in rig.rows() if r.status == "sent"]
        make_request("anvil_dropTransaction", [row.tx_hash])
        assert not rig.gateway.is_pending(row.tx_hash or "")
        _sent_long_ago(rig, row.id)
        yield row
    finally:
        make_request("evm_setAutomine", [True])


def test_a_transaction_the_node_keeps_refusing_holds_its_nonce_and_goes_through_once_the_cause_is_fixed(
    rig: Rig, gateway: ChainGateway
) -> None:  # R10, R16
    """A signer without gas: the node refuses its signed mint again and again. Giving the row up
    would leave its nonce unused and every later transaction of the signer queued behind the gap
    in the node for good; instead the row keeps retrying, readiness names it, and once the signer
    is funded the refused mint and the one signed after it both go through."""
    alice = _primed(rig)
    minter = gateway.signer_address(SIGNER_ROLE["mint"])
    funds = gateway.w3.eth.get_balance(minter)
    set_balance = gateway.w3.provider.make_request  # type: ignore[attr-defined]
    set_balance("anvil_setBalance", [minter, hex(0)])
    try:
        (first,) = rig.mints(alice, 1)
        assert rig.worker.sign_pending() == 1
        for _ in range(10):  # more refusals than the eight after which the row used to be given up
            rig.worker.broadcast_signed()
            _due_now(rig)
        (refused,) = [r for r in rig.rows() if r.status != "confirmed"]
        assert (refused.status, refused.attempts) == ("signed", 10)
        assert "insufficient funds" in (refused.last_error or "").lower()
        assert rig.mint_status(alice, first) == "submitted"  # still on its way, its fiat still reserved
        ready = rig.client.get("/readyz")
        assert ready.status_code == 503
        outbox = ready.json()["checks"]["outbox"]
        assert outbox["ok"] is False and refused.id in outbox["detail"] and minter in outbox["detail"]

        (second,) = rig.mints(alice, 1)
        assert rig.worker.sign_pending() == 1  # signed behind the refused one: the next nonce
        assert sorted(r.nonce for r in rig.rows() if r.status == "signed") == [refused.nonce, (refused.nonce or 0) + 1]
    finally:
        set_balance("anvil_setBalance", [minter, hex(funds)])
    _due_now(rig)
    rig.settle()
    assert {rig.mint_status(alice, first), rig.mint_status(alice, second)} == {"confirmed"}
    assert gateway.balance_of(alice.wallet.address) == 3 * UNITS_PER_CNH
    assert rig.client.get("/readyz").json()["checks"]["outbox"]["ok"] is True


def test_a_dropped_transaction_the_node_refuses_to_take_again_is_named_by_readiness_until_it_goes_through(
    rig: Rig, gateway: ChainGateway
) -> None:  # R16
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    minter = gateway.signer_address(SIGNER_ROLE["mint"])
    funds = gateway.w3.eth.get_balance(minter)
    set_balance = gateway.w3.provider.make_request  # type: ignore[attr-defined]
    with _dropped_by_the_node(rig) as dropped:
        set_balance("anvil_setBalance", [minter, hex(0)])
        try:
            for _ in range(REFUSALS_REPORTED):
                _sent_long_ago(rig, dropped.id)
                _due_now(rig)
                rig.worker.confirm_sent()
            (refused,) = [r for r in rig.rows() if r.id == dropped.id]
            assert (refused.status, refused.attempts, refused.tx_hash) == ("sent", REFUSALS_REPORTED, dropped.tx_hash)
            outbox = rig.client.get("/readyz").json()["checks"]["outbox"]
            assert outbox["ok"] is False and dropped.id in outbox["detail"]
        finally:
            set_balance("anvil_setBalance", [minter, hex(funds)])
    _sent_long_ago(rig, dropped.id)
    _due_now(rig)
    rig.settle()
    assert rig.mint_status(alice, mint_id) == "confirmed"
    assert gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH  # sent again, minted once
    assert rig.client.get("/readyz").json()["checks"]["outbox"]["ok"] is True


def test_mints_wait_for_an_attestation_that_is_signed_in_the_same_step_even_behind_a_full_batch(
    rig: Rig, gateway: ChainGateway
) -> None:  # R1
    rig.worker.batch_size = 3  # fewer than the waiting mints: a queued attestation would never be claimed
    add_buffer_capital(rig.client, rig.staff, "10.00")
    alice = rig.customer("Alice Ltd", deposit="50.00")
    ids = rig.mints(alice, 7)
    assert gateway.reserve_state().attested_reserve_units == 0  # the deployment attested nothing

    assert rig.worker.sign_pending() == 0  # no mint is signed while the attestation does not cover it
    assert {r.status for r in rig.rows()} == {"pending"}
    (attestation,) = rig.rows("attestReserves")
    assert attestation.status == "signed"
    reserve_units, as_of = json.loads(attestation.args_json)
    assert reserve_units == (10 + 7) * UNITS_PER_CNH and as_of != BLOCK_TIMESTAMP

    rig.settle()
    assert {rig.mint_status(alice, i) for i in ids} == {"confirmed"}
    assert gateway.total_supply() == 7 * UNITS_PER_CNH
    assert gateway.reserve_state().attested_reserve_units == 17 * UNITS_PER_CNH


def test_an_attestation_queued_behind_a_full_batch_of_waiting_mints_is_still_reached(
    rig: Rig, gateway: ChainGateway
) -> None:  # R1
    rig.worker.batch_size = 3
    add_buffer_capital(rig.client, rig.staff, "10.00")
    alice = rig.customer("Alice Ltd", deposit="50.00")
    ids = rig.mints(alice, 7)
    with rig.sessions.begin() as session:  # queued as pending, after the mints (an older worker did this)
        repository.enqueue(
            session,
            function="attestReserves",
            args=[17 * UNITS_PER_CNH, BLOCK_TIMESTAMP],
            entity_type="attestation",
            entity_id="reserve",
        )

    rig.settle(rounds=100)
    assert len(rig.rows("attestReserves")) == 1
    assert {rig.mint_status(alice, i) for i in ids} == {"confirmed"}
    assert gateway.total_supply() == 7 * UNITS_PER_CNH


def test_signing_reads_the_ledger_before_the_chain_so_a_mint_finishing_in_between_is_never_missed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:  # R1
    alice = _primed(rig)
    rig.mints(alice, 2)
    order: list[str] = []
    in_flight, state = repository.in_flight_mint_units, rig.gateway.signing_state
    monkeypatch.setattr(repository, "in_flight_mint_units", lambda s: order.append("ledger") or in_flight(s))
    monkeypatch.setattr(rig.gateway, "signing_state", lambda: order.append("chain") or state())
    assert rig.worker.sign_pending() == 2
    assert order == ["ledger", "chain"]


def _sent_not_confirmed(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign and send the pending rows, but let the sending step see no receipt: they stay `sent`."""
    assert rig.worker.sign_pending() > 0
    with monkeypatch.context() as patch:
        patch.setattr(rig.gateway, "receipts", lambda hashes: {})
        assert rig.worker.broadcast_signed() > 0
    assert "sent" in {r.status for r in rig.rows()}


@pytest.mark.parametrize(
    ("rpc", "step", "before"),
    [
        ("signing_state", "sign_pending", None),
        ("broadcast_many", "broadcast_signed", "sign_pending"),
        ("outcomes", "confirm_sent", "sent_not_confirmed"),
        ("receipts", "reorg_check", None),  # the reorg repair reads the confirmed window's receipts
        ("broadcast", "confirm_sent", "dropped"),  # sending a transaction the node dropped again
        ("token_logs", "index", None),  # the indexer reading the token's events
    ],
)
def test_a_node_that_hangs_holds_no_lock_api_writes_wait_for(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, rpc: str, step: str, before: str | None
) -> None:  # R16
    """While the worker waits for the node, API requests that write go through. On SQLite every
    transaction takes the database's write lock, so a step that kept its transaction open across
    the RPC would stall every write until the node answered or timed out."""
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    with ExitStack() as mining_back_on:
        if before == "sign_pending":
            assert rig.worker.sign_pending() == 1
        elif before == "sent_not_confirmed":
            _sent_not_confirmed(rig, monkeypatch)
        elif before == "dropped":
            mining_back_on.enter_context(_dropped_by_the_node(rig))
        others = {
            "reorg_check": ReorgRepair(rig.sessions, rig.gateway).check,
            "index": Indexer(rig.sessions, rig.gateway).step,
        }
        run = others[step] if step in others else getattr(rig.worker, step)
        response, node_still_hanging, _ = _write_while_the_node_hangs(rig, monkeypatch, rpc, run)
    assert response.status_code == 201, response.text
    assert node_still_hanging  # the write did not wait for the node
    _due_now(rig)
    rig.settle()
    assert rig.mint_status(alice, mint_id) == "confirmed"
    assert rig.gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH


def _write_while_the_node_hangs(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, rpc: str, run: Callable[[], Any]
) -> tuple[Any, bool, Any]:
    """Call `run` in a thread with the gateway's `rpc` hanging; meanwhile create a customer. The
    customer's answer, whether the node was still hanging when it came, and what `run` returned."""
    asked, release, answered = threading.Event(), threading.Event(), threading.Event()
    original = getattr(rig.gateway, rpc)

    def hanging(*args: Any, **kwargs: Any) -> Any:
        asked.set()
        release.wait(20)  # the node answers only once the API request below is done (or after 20 s)
        answered.set()
        return original(*args, **kwargs)

    monkeypatch.setattr(rig.gateway, rpc, hanging)
    returned: dict[str, Any] = {}
    caller = threading.Thread(target=lambda: returned.__setitem__("value", run()), name="hung-call")
    caller.start()
    try:
        assert asked.wait(30), f"{run} never called {rpc}"
        response = rig.client.post(
            "/v1/customers",
            json={"name": "Bob Ltd", "kind": "institution", "jurisdiction": "HK"},
            headers=bearer(rig.staff.operator),
        )
        node_still_hanging = not answered.is_set()
    finally:
        release.set()
        caller.join(60)
    monkeypatch.setattr(rig.gateway, rpc, original)
    return response, node_still_hanging, returned.get("value")


@pytest.mark.parametrize("rpc", ["account_state", "faucet"])
def test_api_requests_that_ask_the_node_hold_no_lock_other_writes_wait_for(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, rpc: str
) -> None:
    """A wallet's on-chain state and the sandbox faucet read the database, then ask the node. On
    SQLite the request's transaction is the database's write lock: it must be over before the call."""
    alice = _primed(rig)
    address = alice.wallet.address
    request = {
        "account_state": lambda: rig.client.get(f"/v1/wallets/{address}", headers=bearer(alice.key)),
        "faucet": lambda: rig.client.post("/v1/sandbox/faucet", json={"address": address}, headers=bearer(alice.key)),
    }[rpc]
    response, node_still_hanging, slow = _write_while_the_node_hangs(rig, monkeypatch, rpc, request)
    assert response.status_code == 201, response.text
    assert node_still_hanging
    assert slow.status_code == 200, slow.text


def test_a_row_another_worker_moved_on_while_the_node_answered_is_left_as_it_is(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:  # R16
    """The confirming step read a `sent` row; before the node answered, another worker confirmed
    it. The answer is not applied a second time (no second confirmation, no second settlement)."""
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    _sent_not_confirmed(rig, monkeypatch)
    outcomes = rig.gateway.outcomes
    other = _worker(rig.sessions, rig.gateway, rig.client.app.state.profile)  # type: ignore[attr-defined]

    def meanwhile(hashes: Any) -> Any:
        monkeypatch.setattr(rig.gateway, "outcomes", outcomes)  # the other worker asks the node itself
        assert other.confirm_sent() == 1  # and confirms the row first
        return outcomes(hashes)

    monkeypatch.setattr(rig.gateway, "outcomes", meanwhile)
    assert rig.worker.confirm_sent() == 0
    assert rig.mint_status(alice, mint_id) == "confirmed"
    with rig.sessions() as session:
        pool = session.scalars(select(ReservePool)).one()
        assert pool.in_flight_mint_fen == 0 and pool.outstanding_fen == 2 * 100  # each mint counted once


def _until_a_session_waits_for_a_lock(rig: Rig, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    while time.monotonic() < deadline:
        with rig.sessions() as session:
            if session.execute(query).scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError("no session waited for a lock")


@pytest.mark.postgres
def test_a_worker_never_gates_mints_on_a_ledger_read_that_misses_another_worker_s_batch(
    pg_rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:  # R1
    """Two workers on PostgreSQL. The first has signed its batch of mints and not committed yet (it
    holds the mint signer's nonce counter). The second read the ledger before that commit, so its
    in-flight figure misses the first batch: gating its own mints on it could let them past the
    attested cap, and the chain would refuse them. It must wait for the counter, see that something
    was signed, and sign nothing this step; its next step counts the first batch."""
    rig = pg_rig
    alice = _primed(rig)
    rig.mints(alice, 4)
    profile = rig.client.app.state.profile  # type: ignore[attr-defined]
    first, second = _worker(rig.sessions, rig.gateway, profile), _worker(rig.sessions, rig.gateway, profile)
    first.batch_size = second.batch_size = 2
    holding, release = threading.Event(), threading.Event()
    submitted = first._submitted

    def submitted_then_wait(session: Session, rows: Any) -> None:
        submitted(session, rows)
        holding.set()
        release.wait(30)  # signed, not committed: the counter stays locked

    monkeypatch.setattr(first, "_submitted", submitted_then_wait)
    results: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda: results.__setitem__("first", first.sign_pending())),
        threading.Thread(target=lambda: results.__setitem__("second", second.sign_pending())),
    ]
    threads[0].start()
    try:
        assert holding.wait(30)
        threads[1].start()
        _until_a_session_waits_for_a_lock(rig)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert results == {"first": 2, "second": 0}
    assert second.sign_pending() == 2
    rig.settle()
    assert rig.gateway.balance_of(alice.wallet.address) == 5 * UNITS_PER_CNH


def test_a_freeze_on_its_way_to_the_chain_stops_mints_and_redemptions_at_once(rig: Rig) -> None:  # R24
    """The freeze is recorded (its hold is in force) but the worker has not sent it yet: the wallet
    is not frozen on chain, and a mint or a redemption to or from it must be refused now, or it
    could land on chain before the freeze does."""
    alice = _primed(rig)
    frozen = rig.client.post(
        f"/v1/wallets/{alice.wallet.address}/freeze",
        json={"reason": "suspected account takeover", "legal_basis": "sandbox court order 1/2026"},
        headers=bearer(rig.staff.compliance),
    )
    assert frozen.status_code == 202, frozen.text
    assert rig.gateway.account_state(alice.wallet.address).frozen is False  # nothing sent yet
    mint = request_mint(rig.client, alice, "1.00")
    assert (mint.status_code, mint.json()["reason_code"], mint.json()["rule_id"]) == (422, "wallet_frozen", "R24")
    redemption = rig.client.post(
        "/v1/redemptions",
        json=redemption_body(rig.client, alice, "1.00"),
        headers=bearer(alice.key, **{"Idempotency-Key": "r-frozen"}),
    )
    assert (redemption.status_code, redemption.json()["reason_code"]) == (422, "wallet_frozen")
    assert [r.function for r in rig.rows("mint")] == ["mint"]  # the primed mint only


def test_run_forever_confirms_mints_in_parallel_loops_and_stops_every_thread(rig: Rig, gateway: ChainGateway) -> None:
    alice = _primed(rig)
    rig.worker.extra_steps = [lambda: 0]
    stop = threading.Event()
    runner = threading.Thread(target=rig.worker.run_forever, args=(stop,), name="outbox-test")
    runner.start()
    try:
        ids = rig.mints(alice, 5)
        deadline = time.monotonic() + 30
        while {rig.mint_status(alice, i) for i in ids} != {"confirmed"}:
            assert time.monotonic() < deadline, [rig.mint_status(alice, i) for i in ids]
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()
    assert not [t.name for t in threading.enumerate() if t.name in ("outbox-send", "outbox-extra")]
    assert gateway.balance_of(alice.wallet.address) == 6 * UNITS_PER_CNH


# ------------------------------------------------------------------ gateway (no database)
@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("mint", ["$holder", 10_000]),
        ("attestReserves", [10**30, 1_700_000_000]),
        ("addToAllowList", ["$holder"]),
        ("freeze", ["$holder"]),
        ("burnFrozen", ["$holder", 5, "0x" + "ab" * 32]),
        ("reserveState", []),
        ("pause", []),
    ],
)
def test_calldata_is_exactly_what_web3_encodes(gateway: ChainGateway, function: str, args: list[Any]) -> None:
    holder = Account.create().address
    args = [holder if a == "$holder" else a for a in args]
    assert gateway.calldata(function, args) == gateway.token.encode_abi(function, args=args)


def test_calldata_leaves_arguments_web3_would_refuse_to_web3(gateway: ChainGateway) -> None:
    lower = Account.create().address.lower()  # not checksummed: web3 refuses it
    with pytest.raises(Exception) as expected:
        gateway.token.encode_abi("mint", args=[lower, 1])
    with pytest.raises(type(expected.value)):
        gateway.calldata("mint", [lower, 1])
    with pytest.raises(Exception):  # noqa: B017 - whatever web3 raises for a negative uint256
        gateway.calldata("mint", [Account.create().address, -1])


def test_outcomes_wait_for_the_configured_confirmations_and_receipts_do_not(token_env: TokenEnv) -> None:
    deep = ChainGateway(token_env.anvil.url, token_env.deployment, token_env.keys, confirmations=3)
    holder = token_env.new_account(allow=True)
    token_env.attest(10**12)
    receipt = token_env.send(token_env.keys.minter, token_env.token.functions.mint(holder.address, 10))
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    missing = "0x" + "00" * 32

    assert deep.outcomes([tx_hash, missing]) == {tx_hash: None, missing: None}
    found = deep.receipts([tx_hash, missing])
    assert found[missing] is None and found[tx_hash] is not None
    assert (found[tx_hash].block_number, found[tx_hash].success) == (receipt["blockNumber"], True)
    token_env.w3.provider.make_request("anvil_mine", [2])
    outcome = deep.outcomes([tx_hash])[tx_hash]
    assert outcome == deep.outcome(tx_hash) == found[tx_hash]


def test_broadcast_many_classifies_each_answer_like_broadcast(gateway: ChainGateway, token_env: TokenEnv) -> None:
    sender = token_env.new_account()
    fees = gateway.fees()

    def raw(nonce: int) -> bytes:
        tx = {
            "chainId": gateway.chain_id,
            "nonce": nonce,
            "to": sender.address,
            "value": 0,
            "gas": 21_000,
            "type": 2,
            **fees,
        }
        return bytes(sender.sign_transaction(tx).raw_transaction)

    first, second = raw(0), raw(1)
    assert gateway.broadcast_many([first]) == ["sent"]
    answers = gateway.broadcast_many([first, second, b"\x02junk"])
    assert answers[0] in ("known", "nonce_too_low") and answers[1] == "sent"
    assert isinstance(answers[2], Exception) and "decode" in str(answers[2]).lower()


def test_a_burn_the_token_refuses_fails_the_redemption_with_what_the_holder_can_check(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:  # R13, R16
    """The wallet is frozen after the request was accepted: the burn reverts on chain, nothing is
    burned or paid, and the reason names the causes the holder can check instead of a bare revert."""
    alice = _primed(rig)
    body = redemption_body(rig.client, alice, "1.00")
    accepted = rig.client.post(
        "/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "burn-refused"})
    )
    assert accepted.status_code == 202, accepted.text
    send_and_wait(token_env.w3, token_env.keys.compliance, gateway.token.functions.freeze(alice.wallet.address))
    rig.settle()
    redemption = rig.client.get(f"/v1/redemptions/{accepted.json()['id']}", headers=bearer(alice.key)).json()
    assert (redemption["status"], redemption["reason_code"]) == ("failed", "chain_failed")
    assert "reverted on chain" in redemption["reason"] and "frozen" in redemption["reason"]
    assert "permit has expired" in redemption["reason"] and "nothing was burned or paid" in redemption["reason"]
    assert gateway.balance_of(alice.wallet.address) == UNITS_PER_CNH  # still holds what it asked to redeem


def test_a_redemption_accepted_before_the_minter_key_is_rotated_fails_unsent_asking_the_holder_to_sign_again(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:  # R13, R16, R43
    """The runbook's key rotation: a new minter is configured on chain, the key file changed and the
    worker restarted with it. A redemption accepted before carries a permit naming the old minter as
    spender; it used to be signed by the new minter, sent, and reverted on chain (gas spent), failing
    with a reason about expiry, freezes or the balance that the holder could not act on."""
    alice = _primed(rig)
    body = redemption_body(rig.client, alice, "1.00")
    accepted = rig.client.post(
        "/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "before-rotation"})
    )
    assert accepted.status_code == 202, accepted.text
    new_minter = token_env.new_account()
    token_env.send(token_env.keys.minter_admin, gateway.token.functions.configureMinter(new_minter.address, 10**18))
    rotated = ChainGateway(gateway.rpc_url, token_env.deployment, replace(token_env.keys, minter=new_minter))
    rig.worker = _worker(rig.sessions, rotated, rig.client.app.state.profile)  # type: ignore[attr-defined]
    minted_after = rig.mints(alice, 1)
    rig.settle()

    redemption = rig.client.get(f"/v1/redemptions/{accepted.json()['id']}", headers=bearer(alice.key)).json()
    assert (redemption["status"], redemption["reason_code"]) == ("failed", "permit_invalid"), redemption
    assert new_minter.address in redemption["reason"] and "sign a new permit" in redemption["reason"]
    (burn,) = rig.rows("redeemWithPermit")
    assert (burn.status, burn.tx_hash, burn.nonce) == ("failed", None, None)  # never signed, never sent
    assert gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH  # nothing burned; the new minter mints
    assert rig.mint_status(alice, minted_after[0]) == "confirmed"


def _money_view(rig: Rig, customer: Customer) -> tuple[dict[str, str], dict[str, str]]:
    """The customer's fiat (GET /customers/{id}/balance) and the public reserve figures (GET /v1/reserves)."""
    balance = rig.client.get(f"/v1/customers/{customer.id}/balance", headers=bearer(customer.key)).json()
    reserves = rig.client.get("/v1/reserves").json()
    return (
        {"available": balance["available"], "reserved": balance["reserved"]},
        {k: reserves[k] for k in ("supply", "outstanding", "in_flight_mints", "reserves")},
    )


def test_a_mint_the_token_refuses_fails_and_gives_the_fiat_and_the_reserve_cash_back(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:  # R1, R10, R16, R50
    """The wallet is frozen on chain behind the service's back after the mint was accepted: the
    mint reverts, is recorded `failed` with why, the customer's fiat and the reserve pool are as
    they were before the request, and the ledger still matches the chain's supply."""
    alice = _primed(rig)
    before = _money_view(rig, alice)
    accepted = request_mint(rig.client, alice, "5.00", key="mint-refused")
    assert accepted.status_code == 202, accepted.text
    mint_id = accepted.json()["id"]
    fiat, reserves = _money_view(rig, alice)
    assert (fiat["available"], reserves["in_flight_mints"]) == ("94.00", "5.00")  # taken while in flight
    send_and_wait(token_env.w3, token_env.keys.compliance, gateway.token.functions.freeze(alice.wallet.address))
    rig.settle()

    mint = rig.client.get(f"/v1/mints/{mint_id}", headers=bearer(alice.key)).json()
    assert (mint["status"], mint["reason_code"], mint["reason"]) == ("failed", "chain_failed", "reverted on chain")
    outcome = gateway.outcome(mint["tx_hash"])
    assert outcome is not None and outcome.success is False  # it was sent, mined and reverted
    assert _money_view(rig, alice) == before  # fiat available again, in-flight and reserve cash back (R10, R1)
    records = rig.client.get(
        "/v1/audit-log", params={"entity_type": "mint", "limit": 200}, headers=bearer(rig.staff.auditor)
    ).json()["items"]
    failed = [r for r in records if r["entity_id"] == mint_id and r["action"] == "mint.failed"]
    assert [(r["data"]["reason"], r["data"]["tx_hash"]) for r in failed] == [("reverted on chain", mint["tx_hash"])]
    assert gateway.balance_of(alice.wallet.address) == UNITS_PER_CNH  # only the primed mint
    ledger = rig.client.get("/v1/reserves").json()
    assert (ledger["supply"], ledger["outstanding"]) == ("1.00", "1.00")
    assert gateway.total_supply() == UNITS_PER_CNH  # chain supply == ledger supply (R16)


def test_a_wallet_whose_allow_listing_failed_on_chain_is_allow_listed_when_its_owner_binds_it_again(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:  # R21, R22
    """The token refuses the allow-listing (the service's compliance key lost its role on chain):
    the wallet is recorded `revoked`. Once the cause is fixed, proving control again sends the
    allow-listing again; the wallet does not stay unusable for good."""
    role = gateway.token.functions.COMPLIANCE_ROLE().call()
    compliance = token_env.keys.compliance.address
    send_and_wait(token_env.w3, token_env.keys.admin, gateway.token.functions.revokeRole(role, compliance))
    customer_id, key = onboard(rig.client, rig.staff, name="Carol Ltd")
    wallet = bind_wallet(rig.client, key, wait=False)
    rig.settle()
    assert rig.client.get(f"/v1/wallets/{wallet.address}", headers=bearer(key)).json()["status"] == "revoked"
    send_and_wait(token_env.w3, token_env.keys.admin, gateway.token.functions.grantRole(role, compliance))

    bind_wallet(rig.client, key, wallet, wait=False)
    assert rig.client.get(f"/v1/wallets/{wallet.address}", headers=bearer(key)).json()["status"] == "pending"
    rig.settle()

    view = rig.client.get(f"/v1/wallets/{wallet.address}", headers=bearer(key)).json()
    assert (view["status"], view["customer_id"]) == ("active", customer_id)
    assert gateway.account_state(wallet.address).allow_listed is True
    actions = [
        r["action"]
        for r in rig.client.get(
            "/v1/audit-log", params={"entity_type": "wallet", "limit": 200}, headers=bearer(rig.staff.auditor)
        ).json()["items"]
        if r["data"].get("address") == wallet.address
    ]
    assert actions == ["wallet.bound", "wallet.allow_list_failed", "wallet.bound", "wallet.allow_listed"]


def test_mints_and_redemptions_accepted_before_a_pause_wait_for_the_resume_and_then_complete(
    rig: Rig, gateway: ChainGateway
) -> None:  # R41
    """The pause goes on chain ahead of everything; what was accepted before it is not sent into a
    paused token (it would revert and fail) but waits, and goes through once two admins resumed
    and the token is unpaused."""
    alice = _primed(rig)
    mint = request_mint(rig.client, alice, "2.00", key="before-the-pause")
    assert mint.status_code == 202, mint.text
    redemption = rig.client.post(
        "/v1/redemptions",
        json=redemption_body(rig.client, alice, "1.00"),
        headers=bearer(alice.key, **{"Idempotency-Key": "redeem-before-the-pause"}),
    )
    assert redemption.status_code == 202, redemption.text
    assert rig.client.post("/v1/admin/pause", headers=bearer(rig.staff.admin)).status_code == 200
    for _ in range(5):
        rig.worker.run_once()

    assert gateway.paused()
    assert rig.mint_status(alice, mint.json()["id"]) not in ("submitted", "confirmed", "failed")
    held = rig.client.get(f"/v1/redemptions/{redemption.json()['id']}", headers=bearer(alice.key)).json()
    assert held["status"] == "requested", held
    assert gateway.balance_of(alice.wallet.address) == UNITS_PER_CNH  # nothing moved while paused

    second_admin = rig.client.post(
        "/v1/api-keys", json={"role": "admin", "label": "second admin"}, headers=bearer(rig.staff.admin)
    ).json()["key"]
    assert rig.client.post("/v1/admin/resume", headers=bearer(rig.staff.admin)).status_code == 202
    assert rig.client.post("/v1/admin/resume", headers=bearer(second_admin)).status_code == 200
    rig.settle()

    assert not gateway.paused()
    assert rig.mint_status(alice, mint.json()["id"]) == "confirmed"
    done = rig.client.get(f"/v1/redemptions/{redemption.json()['id']}", headers=bearer(alice.key)).json()
    assert done["status"] == "paid", done
    assert gateway.balance_of(alice.wallet.address) == 2 * UNITS_PER_CNH  # 1 + 2 minted - 1 redeemed


def test_a_transaction_the_node_holds_queued_although_it_is_next_is_sent_again_and_mined_once(
    rig: Rig, gateway: ChainGateway, token_env: TokenEnv
) -> None:  # R16
    """Anvil's pool can keep a transaction queued although its nonce is the signer's next (it came
    in while the one before it was being mined): it never mines, nor does anything after it. The
    worker clears the signer's held transactions and sends the same bytes again: the mints are
    confirmed, each once."""
    alice = _primed(rig)
    ids = rig.mints(alice, 2)
    rig.worker.sign_pending()
    first, second = rig.rows()[-2:]
    assert (first.status, second.status) == ("signed", "signed") and second.nonce == (first.nonce or 0) + 1
    minter = first.signer
    rpc = token_env.w3.provider.make_request
    # The node is told the minter's next nonce is one lower, takes both as waiting for it, then learns
    # the truth: the same state as the race, with both held as "queued" for good.
    rpc("anvil_setNonce", [minter, hex((first.nonce or 0) - 1)])
    rig.worker.broadcast_signed()
    rpc("anvil_setNonce", [minter, hex(first.nonce or 0)])
    rpc("evm_mine", [])
    assert gateway.outcome(first.tx_hash or "") is None and gateway.is_pending(first.tx_hash or "")
    rig.worker.rebroadcast_after = timedelta(0)

    rig.settle()

    assert [rig.mint_status(alice, i) for i in ids] == ["confirmed", "confirmed"]
    assert {r.tx_hash for r in rig.rows()[-2:]} == {first.tx_hash, second.tx_hash}  # the same transactions
    assert gateway.balance_of(alice.wallet.address) == 3 * UNITS_PER_CNH  # 1 primed + 2, none twice


def test_signed_rows_are_sent_in_nonce_order_even_when_requests_committed_out_of_order(
    rig: Rig, gateway: ChainGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that commits late is signed after later requests: request order is not nonce
    order. A batch cut by request order would send nonce n+1 while n waits for the next batch."""
    _primed(rig)
    bob = rig.customer("Bob Ltd", deposit="10.00")
    rig.mints(bob, 4)
    rig.worker.sign_pending()
    signed = rig.rows()[-4:]
    assert [r.status for r in signed] == ["signed"] * 4
    with rig.sessions.begin() as session:  # the lowest nonces now look like the latest requests
        for row, created_at in zip(signed, reversed([r.created_at for r in signed]), strict=True):
            session.get(ChainTx, row.id).created_at = created_at  # type: ignore[union-attr]
    sent: list[bytes] = []
    real_broadcast_many = gateway.broadcast_many
    monkeypatch.setattr(gateway, "broadcast_many", lambda raws: sent.extend(raws) or real_broadcast_many(raws))
    rig.worker.batch_size = 2

    rig.worker.broadcast_signed()

    by_raw = {bytes(r.raw_tx or b""): r.nonce for r in signed}
    lowest = sorted(r.nonce for r in signed)[:2]
    assert [by_raw[bytes(raw)] for raw in sent] == lowest
    rig.settle()
    assert [r.status for r in rig.rows()[-4:]] == ["confirmed"] * 4


def test_a_transaction_the_node_holds_unmined_is_named_by_readiness_and_cleared_once_mined(
    rig: Rig, gateway: ChainGateway
) -> None:  # R16
    """A transaction the node took but does not mine (held behind a nonce gap, or under its fee
    floor) keeps the time it was sent, so readiness can name it; the worker keeps asking about it
    and confirms it once it is mined."""
    alice = _primed(rig)
    (mint_id,) = rig.mints(alice, 1)
    make_request = gateway.w3.provider.make_request  # type: ignore[attr-defined]
    make_request("evm_setAutomine", [False])
    try:
        assert rig.worker.sign_pending() == 1
        assert rig.worker.broadcast_signed() == 1
        (row,) = [r for r in rig.rows() if r.status == "sent"]
        assert gateway.is_pending(row.tx_hash or "")
        assert rig.client.get("/readyz").json()["checks"]["mining"]["ok"] is True  # just sent
        with rig.sessions.begin() as session:  # sent longer ago than readiness tolerates
            held = session.get(ChainTx, row.id)
            assert held is not None and held.sent_at is not None
            held.sent_at -= repository.UNMINED_REPORTED_AFTER + rig.worker.rebroadcast_after
            sent_at = held.sent_at
        rig.worker.confirm_sent()  # overdue, still in the pool: asked about, not re-sent
        after = rig.rows()[-1]
        assert (after.status, after.sent_at, after.tx_hash) == ("sent", sent_at, row.tx_hash)
        ready = rig.client.get("/readyz")
        mining = ready.json()["checks"]["mining"]
        assert ready.status_code == 503 and mining["ok"] is False
        assert row.id in mining["detail"] and f"nonce {row.nonce} " in mining["detail"], mining
    finally:
        make_request("evm_setAutomine", [True])
    make_request("evm_mine", [])
    _due_now(rig)
    rig.settle()
    assert rig.mint_status(alice, mint_id) == "confirmed"
    assert rig.client.get("/readyz").json()["checks"]["mining"]["ok"] is True


def test_reserves_paid_out_are_taken_off_the_on_chain_attestation_so_the_mint_cap_does_not_outlive_them(
    rig: Rig, gateway: ChainGateway
) -> None:  # R1
    """The token's mint cap is the last line of defence: a stolen minter key mints only within the attested
    reserve. A redemption pays reserve cash out, but the attestation posted for the earlier mint stood until it
    aged, so for up to half a day the chain let a stolen key mint against cash that had left the reserve."""
    alice = _primed(rig)  # 100.00 capital + 1.00 minted: 101.00 attested
    assert gateway.reserve_state().attested_reserve_units == 101 * UNITS_PER_CNH
    redemption = rig.client.post(
        "/v1/redemptions",
        json=redemption_body(rig.client, alice, "1.00"),
        headers=bearer(alice.key, **{"Idempotency-Key": "redeem-the-mint"}),
    )
    assert redemption.status_code == 202, redemption.text
    rig.settle()
    paid = rig.client.get(f"/v1/redemptions/{redemption.json()['id']}", headers=bearer(alice.key)).json()
    assert paid["status"] == "paid", paid

    rig.worker._last_stale_check = 0.0  # the idle check runs at most every 30 s; this is its next turn
    rig.worker.run_once()
    rig.settle()
    assert gateway.reserve_state().attested_reserve_units == 100 * UNITS_PER_CNH  # the capital alone
    assert len(rig.rows("attestReserves")) == 2
    rig.worker._last_stale_check = 0.0
    rig.worker.run_once()  # the chain agrees with the ledger now: nothing more is posted
    assert len(rig.rows("attestReserves")) == 2
