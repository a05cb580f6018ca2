"""Crash test (issue: reliability): the API and the worker run as real processes on PostgreSQL and a
state-persisting Anvil; concurrent clients send mixed mints and redemptions while the processes are
killed with SIGKILL at random moments and restarted. Afterwards every accepted request is final
exactly once, chain supply equals the ledger, fiat adds up, no nonce is stuck and the audit chain
verifies (R1, R10, R13, R16, R50).

Size: CNH_RELIABILITY_REQUESTS (default 300 in CI; run with 1000 for the full-size figure)."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, text

from issuer_service.chain.permit import sign_permit
from tests.reliability.harness import Stack, build_stack, drop_database

REQUESTS = int(os.environ.get("CNH_RELIABILITY_REQUESTS", "300"))
KILLS = int(os.environ.get("CNH_RELIABILITY_KILLS", "6"))
CUSTOMERS = 6
UNITS = 10**6


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = build_stack(tmp_path)
    try:
        stack.start("api")
        stack.start("worker")
        yield stack
    finally:
        stack.stop()
        drop_database(stack.database_url)


class Client:
    """Retries through crashes with the same Idempotency-Key: a request is accepted at most once."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.base_url, timeout=10)

    def call(
        self,
        method: str,
        path: str,
        key: str | None,
        *,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
        deadline_s: float = 90,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                response = self.http.request(method, path, json=json, params=params, headers=headers)
                if response.status_code != 503:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} never got through")
            time.sleep(0.2)

    def ok(self, method: str, path: str, key: str | None, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, key, **kwargs)
        assert response.status_code in (200, 201, 202), f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json())


def _setup(client: Client, stack: Stack) -> tuple[dict[str, str], list[dict[str, Any]]]:
    admin = stack.admin_key
    staff = {
        r: client.ok("POST", "/v1/api-keys", admin, json={"role": r, "label": r})["key"]
        for r in ("operator", "compliance", "treasury", "auditor")
    }
    checker = client.ok("POST", "/v1/api-keys", admin, json={"role": "treasury", "label": "checker"})["key"]
    asset = client.ok(
        "POST",
        "/v1/reserves/assets",
        staff["treasury"],
        json={
            "kind": "cash",
            "custodian": "Sandbox Bank",
            "currency": "CNH",
            "nominal": "100000.00",
            "reference": "CAP",
        },
    )
    client.ok("POST", f"/v1/reserves/assets/{asset['id']}/approve", checker)
    customers = []
    for index in range(CUSTOMERS):
        customer = client.ok(
            "POST",
            "/v1/customers",
            staff["operator"],
            json={"name": f"Customer {index}", "kind": "institution", "jurisdiction": "HK"},
        )
        client.ok(
            "POST",
            f"/v1/customers/{customer['id']}/kyc",
            staff["compliance"],
            json={"decision": "approved", "risk": "low", "reference": f"KYC-{index}"},
        )
        key = client.ok("POST", f"/v1/customers/{customer['id']}/api-keys", admin, json={})["key"]
        wallet: LocalAccount = Account.create()
        challenge = client.ok("GET", "/v1/wallets/challenge", key, params={"address": wallet.address})
        signature = wallet.sign_message(encode_defunct(text=challenge["message"])).signature
        client.ok("POST", "/v1/wallets", key, json={"address": wallet.address, "signature": "0x" + signature.hex()})
        client.ok(
            "POST",
            "/v1/deposits",
            staff["operator"],
            idempotency_key=uuid.uuid4().hex,
            json={
                "customer_id": customer["id"],
                "amount": "100000.00",
                "currency": "CNH",
                "bank_reference": f"B-{index}",
            },
        )
        customers.append({"id": customer["id"], "key": key, "wallet": wallet})
    for customer in customers:
        _wait(client, f"/v1/wallets/{customer['wallet'].address}", customer["key"], {"active"})
        client.ok("POST", "/v1/sandbox/faucet", customer["key"], json={"address": customer["wallet"].address})
    return staff, customers


def _wait(client: Client, path: str, key: str, done: set[str], timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.ok("GET", path, key)
        if body["status"] in done:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} stuck at {body['status']}")


def _customer_load(
    client: Client,
    stack: Stack,
    customer: dict[str, Any],
    count: int,
    accepted: dict[str, list[str]],
    rng: random.Random,
) -> None:
    """Mints (fire and forget) interleaved with redemptions (one in flight, as permits are sequential)."""
    token = client.ok("GET", "/v1/token", None)
    w3 = stack.w3
    nonce_abi = [
        {
            "name": "nonces",
            "type": "function",
            "stateMutability": "view",
            "inputs": [{"name": "o", "type": "address"}],
            "outputs": [{"name": "", "type": "uint256"}],
        }
    ]
    contract = w3.eth.contract(address=token["address"], abi=nonce_abi)
    redemption_open: str | None = None
    for _ in range(count):
        if redemption_open is None and rng.random() < 0.3 and accepted["mint"]:
            nonce = contract.functions.nonces(customer["wallet"].address).call()
            deadline = int(w3.eth.get_block("latest")["timestamp"]) + 7200
            permit = sign_permit(
                customer["wallet"],
                chain_id=token["chain_id"],
                token=token["address"],
                spender=token["redemption_spender"],
                value=UNITS,
                nonce=nonce,
                deadline=deadline,
            )
            response = client.call(
                "POST",
                "/v1/redemptions",
                customer["key"],
                idempotency_key=uuid.uuid4().hex,
                json={"wallet": customer["wallet"].address, "amount": "1.00", "permit": permit.as_dict()},
            )
            if response.status_code == 202:
                redemption_open = response.json()["id"]
                accepted["redemption"].append(redemption_open)
            else:  # e.g. balance not minted yet: a clear refusal, nothing accepted
                assert response.status_code in (409, 422), response.text
        else:
            amount = f"{rng.randint(1, 5)}.00"
            response = client.call(
                "POST",
                "/v1/mints",
                customer["key"],
                idempotency_key=uuid.uuid4().hex,
                json={"wallet": customer["wallet"].address, "amount": amount},
            )
            assert response.status_code == 202, response.text
            accepted["mint"].append(response.json()["id"])
        if redemption_open is not None:
            state = client.ok("GET", f"/v1/redemptions/{redemption_open}", customer["key"])["status"]
            if state in ("paid", "failed"):
                redemption_open = None


def test_sigkill_of_api_and_worker_under_load_loses_and_doubles_nothing(stack: Stack) -> None:
    client = Client(stack)
    staff, customers = _setup(client, stack)
    accepted: dict[str, list[str]] = {"mint": [], "redemption": []}
    rng = random.Random(7)
    stop_killing = threading.Event()

    def killer() -> None:
        for index in range(KILLS):
            if stop_killing.wait(rng.uniform(0.8, 2.5)):
                return
            stack.restart(["worker", "api", "worker"][index % 3])

    killer_thread = threading.Thread(target=killer)
    killer_thread.start()
    workers = [
        threading.Thread(
            target=_customer_load,
            args=(Client(stack), stack, customer, REQUESTS // CUSTOMERS, accepted, random.Random(i)),
        )
        for i, customer in enumerate(customers)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    killer_thread.join()
    stop_killing.set()
    assert len(stack.kills) >= min(KILLS, 5), stack.kills

    # Settle: every accepted request reaches a final state.
    for mint_id in accepted["mint"]:
        _wait(client, f"/v1/mints/{mint_id}", staff["auditor"], {"confirmed", "failed"})
    for redemption_id in accepted["redemption"]:
        _wait(client, f"/v1/redemptions/{redemption_id}", staff["auditor"], {"paid", "failed"})

    engine = create_engine(stack.database_url)
    with engine.connect() as db:
        mints = db.execute(text("SELECT id, status, amount_fen, tx_hash, customer_id FROM mints")).all()
        redemptions = db.execute(text("SELECT id, status, amount_fen, chain_request_id FROM redemptions")).all()
        pool = db.execute(text("SELECT outstanding_fen, in_flight_mint_fen FROM reserve_pool")).one()
        open_txs = db.execute(
            text("SELECT count(*) FROM chain_txs WHERE status IN ('pending','signed','sent')")
        ).scalar_one()
        nonces = dict(db.execute(text("SELECT address, next_nonce FROM signer_nonces")).all())
        deposits = dict(
            db.execute(text("SELECT customer_id, sum(amount_fen) FROM deposits GROUP BY customer_id")).all()
        )
        accounts = {
            row[0]: (row[1], row[2])
            for row in db.execute(text("SELECT customer_id, available_fen, reserved_fen FROM fiat_accounts")).all()
        }
    engine.dispose()

    # Exactly once: every accepted id exists once and is final; nothing unaccepted was created.
    assert sorted(m.id for m in mints) == sorted(accepted["mint"])
    assert sorted(r.id for r in redemptions) == sorted(accepted["redemption"])
    assert {m.status for m in mints} == {"confirmed"}, [m for m in mints if m.status != "confirmed"][:3]
    assert {r.status for r in redemptions} <= {"paid"}
    assert open_txs == 0 and pool.in_flight_mint_fen == 0

    # The chain saw each confirmed mint once and each redemption once.
    token = stack.w3.eth.contract(address=stack.deployment.token_address, abi=stack.deployment.abi)
    minted = token.events.Minted.get_logs(from_block=0)
    redeemed = token.events.Redeemed.get_logs(from_block=0)
    mint_hashes = ["0x" + bytes(log["transactionHash"]).hex() for log in minted]
    assert sorted(mint_hashes) == sorted(m.tx_hash for m in mints)
    assert len({log["args"]["requestId"] for log in redeemed}) == len(redeemed) == len(redemptions)

    # Ledger supply == chain supply (R16); fiat adds up per customer (R10).
    supply = token.functions.totalSupply().call()
    assert supply == pool.outstanding_fen * 10_000
    minted_by_customer: dict[str, int] = {}
    for m in mints:
        minted_by_customer[m.customer_id] = minted_by_customer.get(m.customer_id, 0) + m.amount_fen
    for customer_id, (available, reserved) in accounts.items():
        assert reserved == 0
        assert available + minted_by_customer.get(customer_id, 0) == deposits[customer_id]

    # No nonce is stuck: each signer's next nonce is the chain's.
    for address, next_nonce in nonces.items():
        assert next_nonce == stack.w3.eth.get_transaction_count(address, "latest"), address

    verify = client.ok("GET", "/v1/audit-log/verify", staff["auditor"])
    assert verify["ok"] is True
    print(
        f"\ncrash test: {len(mints)} mints, {len(redemptions)} redemptions accepted; kills {stack.kills}; "
        f"supply {supply // UNITS} tCNH; {verify['entries']} audit records verified"
    )
