"""Chain and database outages under load (issue: reliability, item 4). The API and its worker run as
a real process on PostgreSQL and a state-persisting Anvil, with a TCP proxy (a thread in this test,
127.0.0.1 only) between the service and the PostgreSQL server so the database can be taken away and
given back without touching the server other tests use.

While the chain is down: /readyz says so (503, chain check failing); mints are still accepted into
the outbox (they need no chain at accept time); a wallet proven by an EOA signature is accepted and
stays pending; anything that must read the chain at accept time (redemptions: balance and permit
nonce; ERC-1271 wallet proofs; the faucet) is refused with a 503 problem and writes nothing. When
the chain returns on the same port with its state file, every accepted request completes.

While the database is away: /healthz stays up, /readyz says so (503, database check failing), and
every endpoint answers either without the database or with a 503 problem — never a 500. A client
retrying with the same Idempotency-Key gets each mint accepted exactly once when it comes back.

Both: nothing is lost or doubled (R1, R10, R13, R16, R50) and no secret reaches the logs (R43).
Size: CNH_OUTAGE_MINTS mints accepted while the chain is down (default 10) and CNH_OUTAGE_RETRIES
503 answers the load meets while the database is away (default 10)."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import create_engine, text

from tests.reliability.flows import (
    Api,
    Holder,
    Issuer,
    assert_books_balance,
    assert_no_secret_in_logs,
    assert_problem,
    bind_wallet,
    redemption_body,
    set_up_issuer,
    wait_settled,
    wait_status,
    wait_until,
)
from tests.reliability.harness import Stack, build_stack, drop_database
from tests.reliability.tcp_proxy import TcpProxy
from tests.sizes import size

OUTAGE_MINTS = size("CNH_OUTAGE_MINTS", ci=10, full=100)
OUTAGE_RETRIES = size("CNH_OUTAGE_RETRIES", ci=10, full=100)


@dataclass
class World:
    """One stack shared by the outage tests (set-up is the slow part), and every id it accepted."""

    stack: Stack
    proxy: TcpProxy
    api: Api
    issuer: Issuer
    mints: list[str] = field(default_factory=list)
    redemptions: list[str] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)

    def count(self, sql: str, **params: Any) -> int:
        engine = create_engine(self.stack.database_url)  # straight to the server, not through the proxy
        try:
            with engine.connect() as db:
                return int(db.execute(text(sql), params).scalar_one())
        finally:
            engine.dispose()

    def redemption_traces(self, wallet: str) -> tuple[int, ...]:
        """Every kind of row a redemption or a wallet binding would write (the load's mints aside)."""
        return (
            self.count("SELECT count(*) FROM redemptions"),
            self.count("SELECT count(*) FROM chain_txs WHERE function <> 'mint' AND function <> 'attestReserves'"),
            self.count("SELECT count(*) FROM audit_log WHERE action NOT LIKE 'mint.%'"),
            self.count("SELECT count(*) FROM wallets WHERE address = :a", a=wallet),
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    proxy = TcpProxy().start()
    stack = build_stack(tmp_path_factory.mktemp("outages"))
    host, _, database = stack.database_url.rpartition("@")[2].partition("/")
    stack.extra_env.update(
        {
            "DATABASE_URL": stack.database_url.replace(host, f"127.0.0.1:{proxy.port}"),
            "CNH_LOG_LEVEL": "INFO",
            "CNH_API_KEY_PEPPER": secrets.token_urlsafe(24),
        }
    )
    try:
        stack.start("api+worker")
        api = Api(stack.base_url)
        yield World(stack=stack, proxy=proxy, api=api, issuer=set_up_issuer(api, stack.admin_key, customers=2))
    finally:
        stack.stop()
        proxy.cut()
        drop_database(stack.database_url)


class MintLoad:
    """A client thread that keeps requesting mints, retrying a 503 or a dropped connection with the
    same Idempotency-Key until it gets an answer. Records every status it saw."""

    def __init__(self, api: Api, holder: Holder) -> None:
        self.api, self.holder = api, holder
        self.accepted: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.transport_errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mint-load")

    def __enter__(self) -> MintLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            body = {"wallet": self.holder.wallet.address, "amount": "1.00"}
            while True:  # the same key until the request is answered for good
                try:
                    response = self.api.once("POST", "/v1/mints", self.holder.key, json=body, idempotency_key=key)
                except httpx.TransportError:
                    self.transport_errors += 1
                    time.sleep(0.1)
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code != 503:
                    break
                time.sleep(0.1)
            assert response.status_code == 202, response.text
            self.accepted.append(response.json()["id"])

    def wait_accepted(self, more_than: int, what: str) -> None:
        wait_until(lambda: len(self.accepted) > more_than, timeout=60, what=what)


def _ready(api: Api) -> httpx.Response:
    return api.once("GET", "/readyz")


def test_chain_outage_keeps_accepting_mints_refuses_chain_reads_with_503_and_completes_when_the_chain_returns(
    world: World,
) -> None:
    api, stack = world.api, world.stack
    alice, bob = world.issuer.holders
    first = api.ok(
        "POST",
        "/v1/mints",
        alice.key,
        json={"wallet": alice.wallet.address, "amount": "50.00"},
        idempotency_key=uuid.uuid4().hex,
    )
    world.mints.append(first["id"])
    wait_status(api, f"/v1/mints/{first['id']}", alice.key, {"confirmed"})
    # Signed while the chain is up (it holds the permit nonce); sent during the outage, then retried.
    redemption = redemption_body(stack, api, alice, 1000)
    redemption_key = uuid.uuid4().hex
    new_wallet, contract_like_wallet = Account.create(), Account.create()

    with MintLoad(api, bob) as load:
        load.wait_accepted(2, "mints before the outage")
        stack.stop_chain()
        outage_started = len(load.accepted)

        not_ready = wait_until(
            lambda: (r := _ready(api)).status_code == 503 and r, timeout=30, what="/readyz to report the chain outage"
        )
        checks = assert_problem(not_ready, 503)["checks"]
        assert checks["chain"]["ok"] is False and checks["database"]["ok"] is True, checks

        # A mint needs no chain at accept time: accepted into the outbox.
        during = api.once(
            "POST",
            "/v1/mints",
            alice.key,
            json={"wallet": alice.wallet.address, "amount": "2.00"},
            idempotency_key=uuid.uuid4().hex,
        )
        assert during.status_code == 202, during.text
        assert during.json()["status"] == "approved"
        world.mints.append(during.json()["id"])

        # A redemption must read balance and permit nonce on chain: 503, and nothing is written.
        before = world.redemption_traces(contract_like_wallet.address)
        refused = api.once("POST", "/v1/redemptions", alice.key, json=redemption, idempotency_key=redemption_key)
        assert assert_problem(refused, 503)["type"].endswith("chain-unavailable")
        assert refused.headers["retry-after"]
        # A proof that is not the wallet's own signature could be an ERC-1271 wallet's: the chain must
        # be asked, so 503 and nothing bound.
        assert_problem(bind_wallet(api, bob.key, contract_like_wallet, corrupt=True), 503)
        assert_problem(api.once("POST", "/v1/sandbox/faucet", bob.key, json={"address": bob.wallet.address}), 503)
        assert world.redemption_traces(contract_like_wallet.address) == before

        # An EOA proves control without the chain: accepted, pending until allow-listed on chain (R21, R22).
        bound = bind_wallet(api, bob.key, new_wallet)
        assert bound.status_code == 201 and bound.json()["status"] == "pending", bound.text

        # Reads that only decorate with chain data still answer.
        wallet = api.once("GET", f"/v1/wallets/{alice.wallet.address}", alice.key)
        assert wallet.status_code == 200 and wallet.json()["on_chain"] is None, wallet.text
        assert api.once("GET", "/v1/reserves").status_code == 200
        assert api.once("GET", "/healthz").status_code == 200

        load.wait_accepted(outage_started + OUTAGE_MINTS, "mints accepted while the chain is down")
        accepted_during_outage = len(load.accepted) - outage_started
        stack.start_chain()
        wait_until(lambda: _ready(api).status_code == 200, timeout=90, what="/readyz to recover with the chain")
        load.wait_accepted(len(load.accepted) + 2, "mints after the chain returned")

    assert set(load.statuses) == {202}, load.statuses  # never a 5xx for a mint: it needs no chain to accept
    world.mints.extend(load.accepted)
    retried = api.call("POST", "/v1/redemptions", alice.key, json=redemption, idempotency_key=redemption_key)
    assert retried.status_code == 202, retried.text
    world.redemptions.append(retried.json()["id"])
    wait_status(api, f"/v1/wallets/{new_wallet.address}", bob.key, {"active"}, timeout=120)

    wait_settled(stack)
    figures = assert_books_balance(
        stack, api, world.issuer, accepted_mints=world.mints, accepted_redemptions=world.redemptions
    )
    assert_no_secret_in_logs(stack, world.issuer, *world.extra_keys)
    print(f"\nchain outage: {accepted_during_outage} mints accepted while the chain was down; books after: {figures}")


def _sweep_every_route(api: Api, schema: dict[str, Any], keys: list[str]) -> Counter[int]:
    """Call every documented operation with each key (a body of {} where one is expected)."""
    seen: Counter[int] = Counter()
    for path, operations in schema["paths"].items():
        concrete = path
        for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
            concrete = concrete.replace("{" + name + "}", "0x" + "11" * 20 if name == "address" else "x_123")
        for method in operations:
            for key in keys:
                json_body = {} if method in ("post", "put", "patch") else None
                response = api.once(
                    method.upper(),
                    concrete,
                    key,
                    json=json_body,
                    idempotency_key="sweep",
                    params={"amount": "1.00", "address": "0x" + "11" * 20},
                )
                assert response.status_code != 500, f"{method.upper()} {path}: 500 {response.text}"
                if response.status_code >= 500:
                    assert_problem(response, 503)
                seen[response.status_code] += 1
    return seen


def test_database_outage_answers_503_problems_never_500_and_loses_no_accepted_mint(world: World) -> None:
    api, stack = world.api, world.stack
    alice, bob = world.issuer.holders
    schema = api.ok("GET", "/openapi.json")
    probe = api.ok(
        "POST",
        "/v1/mints",
        alice.key,
        json={"wallet": alice.wallet.address, "amount": "3.00"},
        idempotency_key=uuid.uuid4().hex,
    )
    world.mints.append(probe["id"])

    with MintLoad(api, bob) as load:
        load.wait_accepted(2, "mints before the outage")
        world.proxy.cut()
        not_ready = wait_until(
            lambda: (r := _ready(api)).status_code == 503 and r,
            timeout=30,
            what="/readyz to report the database outage",
        )
        checks = assert_problem(not_ready, 503)["checks"]
        assert checks["database"]["ok"] is False, checks
        assert api.once("GET", "/healthz").status_code == 200  # alive, just not ready

        refused = api.once(
            "POST",
            "/v1/mints",
            alice.key,
            json={"wallet": alice.wallet.address, "amount": "1.00"},
            idempotency_key=uuid.uuid4().hex,
        )
        assert assert_problem(refused, 503)["detail"] and refused.headers["retry-after"]
        assert_problem(api.once("GET", f"/v1/mints/{probe['id']}", alice.key), 503)
        # Valid keys only: a request without a key is refused (401) with or without the database,
        # so it says nothing about the outage.
        seen = _sweep_every_route(api, schema, [stack.admin_key, alice.key])
        assert seen[503] > 0, seen

        wait_until(lambda: load.statuses[503] >= OUTAGE_RETRIES, timeout=60, what="the load to meet the outage")
        world.proxy.restore()
        wait_until(lambda: _ready(api).status_code == 200, timeout=90, what="/readyz to recover with the database")
        load.wait_accepted(len(load.accepted) + 3, "mints after the database returned")

    assert set(load.statuses) <= {202, 503}, load.statuses
    world.mints.extend(load.accepted)
    wait_status(api, f"/v1/mints/{probe['id']}", alice.key, {"confirmed"})
    wait_settled(stack)
    figures = assert_books_balance(
        stack, api, world.issuer, accepted_mints=world.mints, accepted_redemptions=world.redemptions
    )
    assert_no_secret_in_logs(stack, world.issuer, *world.extra_keys)
    print(
        f"\ndatabase outage: {load.statuses[503]} answers were 503 during the outage, sweep {dict(seen)}, "
        f"{world.proxy.connections_served} proxied connections; books after: {figures}"
    )
