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
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer_service.chain.permit import sign_permit
from tests.reliability.flows import Api, Holder, assert_books_balance, set_up_issuer, wait_status
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


def _customer_load(
    client: Api,
    stack: Stack,
    customer: Holder,
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
            nonce = contract.functions.nonces(customer.wallet.address).call()
            deadline = int(w3.eth.get_block("latest")["timestamp"]) + 7200
            permit = sign_permit(
                customer.wallet,
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
                customer.key,
                idempotency_key=uuid.uuid4().hex,
                json={"wallet": customer.wallet.address, "amount": "1.00", "permit": permit.as_dict()},
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
                customer.key,
                idempotency_key=uuid.uuid4().hex,
                json={"wallet": customer.wallet.address, "amount": amount},
            )
            assert response.status_code == 202, response.text
            accepted["mint"].append(response.json()["id"])
        if redemption_open is not None:
            state = client.ok("GET", f"/v1/redemptions/{redemption_open}", customer.key)["status"]
            if state in ("paid", "failed"):
                redemption_open = None


def test_sigkill_of_api_and_worker_under_load_loses_and_doubles_nothing(stack: Stack) -> None:
    client = Api(stack.base_url)
    issuer = set_up_issuer(client, stack.admin_key, customers=CUSTOMERS)
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
            args=(Api(stack.base_url), stack, holder, REQUESTS // CUSTOMERS, accepted, random.Random(i)),
        )
        for i, holder in enumerate(issuer.holders)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    killer_thread.join()
    stop_killing.set()
    assert len(stack.kills) >= min(KILLS, 5), stack.kills

    # Settle: every accepted request reaches a final state, then the books must balance exactly.
    auditor = issuer.staff["auditor"]
    for mint_id in accepted["mint"]:
        wait_status(client, f"/v1/mints/{mint_id}", auditor, {"confirmed", "failed"}, 180)
    for redemption_id in accepted["redemption"]:
        wait_status(client, f"/v1/redemptions/{redemption_id}", auditor, {"paid", "failed"}, 180)
    figures = assert_books_balance(
        stack, client, issuer, accepted_mints=accepted["mint"], accepted_redemptions=accepted["redemption"]
    )
    print(
        f"\ncrash test: {figures['mints']} mints, {figures['redemptions']} redemptions accepted; kills "
        f"{stack.kills}; supply {figures['supply_units'] // UNITS} tCNH; {figures['audit_entries']} audit "
        "records verified"
    )
