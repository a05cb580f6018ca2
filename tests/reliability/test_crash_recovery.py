"""Crash test (issue: reliability): the API and the worker run as real processes on PostgreSQL and a
state-persisting Anvil; concurrent clients send mixed mints and redemptions while the processes are
killed with SIGKILL at random moments and restarted. Afterwards every accepted request is final
exactly once, chain supply equals the ledger, fiat adds up, no nonce is stuck and the audit chain
verifies (R1, R10, R13, R16, R50).

Size: CNH_RELIABILITY_REQUESTS (default 300 in CI; run with 1000 for the full-size figure)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer_service.chain.permit import sign_permit
from tests.reliability.flows import Api, Holder, assert_books_balance, outbox_state, set_up_issuer, wait_status
from tests.reliability.harness import Stack, build_stack, drop_database
from tests.sizes import size

REQUESTS = size("CNH_RELIABILITY_REQUESTS", ci=300, full=1000)
KILLS = size("CNH_RELIABILITY_KILLS", ci=6, full=10)
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
    sent: Progress,
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
        sent.add()
        if redemption_open is not None:
            state = client.ok("GET", f"/v1/redemptions/{redemption_open}", customer.key)["status"]
            if state in ("paid", "failed"):
                redemption_open = None


class Progress:
    """Requests sent so far by all clients, for the killer to spread its kills over the load."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    def add(self) -> None:
        with self.changed:
            self._count += 1
            self.changed.notify_all()

    def wait_for(self, count: int, done: threading.Event) -> bool:
        """Wait until `count` requests were sent; False if the load ended first."""
        with self.changed:
            while self._count < count:
                if done.is_set():
                    return False
                self.changed.wait(0.5)
            return True


def kill_points(requests: int, kills: int, rng: random.Random) -> list[int]:
    """After how many sent requests each kill happens: one at a random moment inside each of
    `kills` equal slices of the load, so kills land from its start to its end, not all early."""
    slice_ = requests / kills
    return [int(slice_ * index + rng.uniform(0.1, 0.9) * slice_) for index in range(kills)]


def test_kill_points_spread_over_the_whole_load() -> None:
    points = kill_points(1000, 10, random.Random(7))
    assert points == sorted(points) and len(set(points)) == 10
    assert points[0] < 100 and points[-1] > 900, points  # one in the first and one in the last tenth


@pytest.mark.timeout(300 + REQUESTS)  # the full size (1,000 requests) takes about 5 minutes
def test_sigkill_of_api_and_worker_under_load_loses_and_doubles_nothing(stack: Stack) -> None:
    client = Api(stack.base_url)
    issuer = set_up_issuer(client, stack.admin_key, customers=CUSTOMERS)
    accepted: dict[str, list[str]] = {"mint": [], "redemption": []}
    rng = random.Random(7)
    sent = Progress()
    load_done = threading.Event()

    def killer() -> None:
        for index, point in enumerate(kill_points(REQUESTS, KILLS, rng)):
            if not sent.wait_for(point, load_done):
                return
            stack.restart(["worker", "api", "worker"][index % 3])

    # Every request is sent: the remainder of REQUESTS / CUSTOMERS goes to the first customers.
    shares = [REQUESTS // CUSTOMERS + (1 if i < REQUESTS % CUSTOMERS else 0) for i in range(CUSTOMERS)]
    killer_thread = threading.Thread(target=killer)
    killer_thread.start()
    workers = [
        threading.Thread(
            target=_customer_load,
            args=(Api(stack.base_url), stack, holder, shares[i], accepted, random.Random(i), sent),
        )
        for i, holder in enumerate(issuer.holders)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    load_done.set()
    killer_thread.join()
    assert sum(shares) == REQUESTS
    assert len(stack.kills) >= min(KILLS, 5), stack.kills

    # Settle: every accepted request reaches a final state, then the books must balance exactly.
    auditor = issuer.staff["auditor"]

    def explain() -> str:
        return outbox_state(stack)

    for mint_id in accepted["mint"]:
        wait_status(client, f"/v1/mints/{mint_id}", auditor, {"confirmed", "failed"}, 180, explain=explain)
    for redemption_id in accepted["redemption"]:
        wait_status(client, f"/v1/redemptions/{redemption_id}", auditor, {"paid", "failed"}, 180, explain=explain)
    figures = assert_books_balance(
        stack, client, issuer, accepted_mints=accepted["mint"], accepted_redemptions=accepted["redemption"]
    )
    print(
        f"\ncrash test: {figures['mints']} mints, {figures['redemptions']} redemptions accepted; kills "
        f"{stack.kills}; supply {figures['supply_units'] // UNITS} tCNH; {figures['audit_entries']} audit "
        "records verified"
    )
