"""Client-side helpers for the process-level reliability tests: an HTTP client that retries through
outages with the same Idempotency-Key, issuer set-up through the API, polling, and the end-of-test
"nothing lost, nothing doubled" checks against the database, the chain and the logs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, text

from issuer_service.chain.permit import sign_permit
from tests.reliability.harness import Stack

UNITS_PER_FEN = 10_000
PROBLEM_JSON = "application/problem+json"


class Api:
    """One service process seen from a client. `call` retries transport errors and 503 answers with
    the same Idempotency-Key, as a well-behaved client does: a request is accepted at most once."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def once(
        self,
        method: str,
        path: str,
        key: str | None = None,
        *,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.http.request(method, path, json=json, params=params, headers=headers)

    def call(
        self, method: str, path: str, key: str | None = None, *, deadline_s: float = 90, **kwargs: Any
    ) -> httpx.Response:
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                response = self.once(method, path, key, **kwargs)
                if response.status_code != 503:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} never got through within {deadline_s} s")
            time.sleep(0.2)

    def ok(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, key, **kwargs)
        assert response.status_code in (200, 201, 202), f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json())


@dataclass
class Holder:
    """An onboarded customer: its id, its API key and its bound wallet."""

    id: str
    key: str
    wallet: LocalAccount


@dataclass
class Issuer:
    """Staff keys by role (plus a second treasury key for maker-checker) and the customers."""

    staff: dict[str, str]
    holders: list[Holder]

    def all_api_keys(self) -> list[str]:
        return [*self.staff.values(), *(holder.key for holder in self.holders)]


def set_up_issuer(
    api: Api, admin_key: str, *, customers: int, deposit: str = "100000.00", capital: str = "100000.00"
) -> Issuer:
    """Staff keys, approved buffer capital, and `customers` KYC-approved customers each with a bound,
    active, gas-funded wallet and a confirmed deposit."""
    staff = {
        role: api.ok("POST", "/v1/api-keys", admin_key, json={"role": role, "label": role})["key"]
        for role in ("operator", "compliance", "treasury", "auditor")
    }
    staff["treasury2"] = api.ok("POST", "/v1/api-keys", admin_key, json={"role": "treasury", "label": "checker"})["key"]
    asset = api.ok(
        "POST",
        "/v1/reserves/assets",
        staff["treasury"],
        json={"kind": "cash", "custodian": "Sandbox Bank", "currency": "CNH", "nominal": capital, "reference": "CAP"},
    )
    api.ok("POST", f"/v1/reserves/assets/{asset['id']}/approve", staff["treasury2"])
    holders = [onboard(api, admin_key, staff, f"Holder {index}", deposit=deposit) for index in range(customers)]
    for holder in holders:
        wait_status(api, f"/v1/wallets/{holder.wallet.address}", holder.key, {"active"})
        api.ok("POST", "/v1/sandbox/faucet", holder.key, json={"address": holder.wallet.address})
    return Issuer(staff=staff, holders=holders)


def onboard(api: Api, admin_key: str, staff: dict[str, str], name: str, *, deposit: str | None) -> Holder:
    customer = api.ok(
        "POST", "/v1/customers", staff["operator"], json={"name": name, "kind": "institution", "jurisdiction": "HK"}
    )
    api.ok(
        "POST",
        f"/v1/customers/{customer['id']}/kyc",
        staff["compliance"],
        json={"decision": "approved", "risk": "low", "reference": f"KYC-{name}"},
    )
    key = api.ok("POST", f"/v1/customers/{customer['id']}/api-keys", admin_key, json={})["key"]
    wallet: LocalAccount = Account.create()
    response = bind_wallet(api, key, wallet)
    assert response.status_code == 201, response.text
    if deposit is not None:
        api.ok(
            "POST",
            "/v1/deposits",
            staff["operator"],
            idempotency_key=uuid.uuid4().hex,
            json={"customer_id": customer["id"], "amount": deposit, "currency": "CNH", "bank_reference": f"B-{name}"},
        )
    return Holder(id=customer["id"], key=key, wallet=wallet)


def bind_wallet(api: Api, key: str, wallet: LocalAccount, *, corrupt: bool = False) -> httpx.Response:
    """Challenge, personal_sign, POST /v1/wallets (one attempt for the POST). `corrupt` flips a byte
    of the signature so it proves nothing."""
    challenge = api.ok("GET", "/v1/wallets/challenge", key, params={"address": wallet.address})
    signature = bytearray(wallet.sign_message(encode_defunct(text=challenge["message"])).signature)
    if corrupt:
        signature[10] ^= 0xFF
    return api.once("POST", "/v1/wallets", key, json={"address": wallet.address, "signature": "0x" + signature.hex()})


def redemption_body(
    stack: Stack, api: Api, holder: Holder, amount_fen: int, *, deadline_s: int = 7200
) -> dict[str, Any]:
    """A redemption with a fresh EIP-2612 permit read from the chain (which must be up)."""
    token = api.ok("GET", "/v1/token")
    w3 = stack.w3
    contract = w3.eth.contract(
        address=token["address"],
        abi=[
            {
                "name": "nonces",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"name": "o", "type": "address"}],
                "outputs": [{"name": "", "type": "uint256"}],
            }
        ],
    )
    nonce = contract.functions.nonces(holder.wallet.address).call()
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + deadline_s
    permit = sign_permit(
        holder.wallet,
        chain_id=token["chain_id"],
        token=token["address"],
        spender=token["redemption_spender"],
        value=amount_fen * UNITS_PER_FEN,
        nonce=nonce,
        deadline=deadline,
    )
    return {
        "wallet": holder.wallet.address,
        "amount": f"{amount_fen // 100}.{amount_fen % 100:02d}",
        "permit": permit.as_dict(),
    }


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, what: str | Callable[[], str], interval: float = 0.2
) -> Any:
    """Poll `predicate` until it returns something truthy (returned), or fail naming `what` (a text,
    or a function giving one, to report the last state seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def wait_status(
    api: Api, path: str, key: str, done: set[str], timeout: float = 120, *, explain: Callable[[], str] | None = None
) -> dict[str, Any]:
    """Poll `path` until its status is in `done`; on timeout the message also carries `explain()`."""
    last: dict[str, Any] = {}

    def reached() -> bool:
        nonlocal last
        last = api.ok("GET", path, key)
        return last["status"] in done

    def what() -> str:
        waited = f"{path} to become one of {sorted(done)} (last: {last})"
        return waited if explain is None else f"{waited}\n{explain()}"

    wait_until(reached, timeout=timeout, what=what)
    return last


def outbox_state(stack: Stack) -> str:
    """What a stuck request is waiting on: the outbox rows not yet final, the signers' nonce counters,
    /readyz and the worker's last warnings, for a timed-out wait to show."""
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text(
                    "SELECT id, function, status, signer, nonce, attempts, not_before, sent_at, tx_hash, last_error"
                    " FROM chain_txs WHERE status NOT IN ('confirmed','failed') ORDER BY signer, nonce LIMIT 30"
                )
            ).all()
            counters = db.execute(text("SELECT address, next_nonce FROM signer_nonces ORDER BY address")).all()
    finally:
        engine.dispose()
    try:
        ready = httpx.get(stack.base_url + "/readyz", timeout=5).text[:1500]
    except httpx.HTTPError as exc:
        ready = f"unreachable ({exc})"
    lines = ["outbox rows not final:", *(f"  {tuple(row)}" for row in rows)]
    lines += [f"nonce counters: {[tuple(c) for c in counters]}", f"/readyz: {ready}", "worker warnings:"]
    lines += [f"  {line[:400]}" for line in _worker_warnings(stack)]
    return "\n".join(lines)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with this status, never a bare error page."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["detail"], problem
    return problem


def wait_settled(stack: Stack, *, timeout: float = 180) -> None:
    """Every mint, redemption and outbox row reaches a final state."""
    engine = create_engine(stack.database_url)

    def settled() -> bool:
        with engine.connect() as db:
            return (
                db.execute(
                    text(
                        "SELECT (SELECT count(*) FROM mints WHERE status NOT IN ('confirmed','failed','rejected'))"
                        " + (SELECT count(*) FROM redemptions WHERE status NOT IN ('paid','failed','rejected'))"
                        " + (SELECT count(*) FROM chain_txs WHERE status NOT IN ('confirmed','failed'))"
                    )
                ).scalar_one()
                == 0
            )

    try:
        wait_until(settled, timeout=timeout, what="every mint, redemption and outbox row to be final")
    finally:
        engine.dispose()


def _worker_warnings(stack: Stack, limit: int = 20) -> list[str]:
    """The last re-sign, re-broadcast and reorg lines of the service's logs, to explain a failure."""
    lines = [
        line.strip()
        for log in sorted(stack.folder.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if '"level": "info"' not in line and any(word in line for word in ("re-sign", "re-broadcast", "reorg", "nonce"))
    ]
    return lines[-limit:]


def assert_books_balance(
    stack: Stack, api: Api, issuer: Issuer, *, accepted_mints: list[str], accepted_redemptions: Sequence[str] = ()
) -> dict[str, int]:
    """Nothing lost, nothing doubled (R1, R10, R16, R50): every accepted request exists once and is final,
    each confirmed mint was minted on chain exactly once, chain supply equals the ledger, fiat adds up,
    no nonce is stuck and the audit chain verifies. Returns figures for the report."""
    engine = create_engine(stack.database_url)
    with engine.connect() as db:
        mints = db.execute(text("SELECT id, status, amount_fen, tx_hash, customer_id FROM mints")).all()
        redemptions = db.execute(
            text("SELECT id, status, amount_fen, fee_fen, payout_fen, payout_reference FROM redemptions")
        ).all()
        pool = db.execute(
            text("SELECT outstanding_fen, in_flight_mint_fen, cash_fen, fees_fen FROM reserve_pool")
        ).one()
        open_txs = db.execute(
            text("SELECT count(*) FROM chain_txs WHERE status NOT IN ('confirmed','failed')")
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

    assert sorted(m.id for m in mints) == sorted(accepted_mints), "a mint was lost or one appeared unasked"
    assert sorted(r.id for r in redemptions) == sorted(accepted_redemptions)
    assert {m.status for m in mints} <= {"confirmed"}, [m for m in mints if m.status != "confirmed"][:3]
    assert {r.status for r in redemptions} <= {"paid"}, redemptions
    assert open_txs == 0 and pool.in_flight_mint_fen == 0

    token = stack.w3.eth.contract(address=stack.deployment.token_address, abi=stack.deployment.abi)
    minted = token.events.Minted.get_logs(from_block=0)
    redeemed = token.events.Redeemed.get_logs(from_block=0)
    on_chain = sorted("0x" + bytes(log["transactionHash"]).hex() for log in minted)
    in_ledger = sorted(m.tx_hash or "" for m in mints)
    assert on_chain == in_ledger, (
        f"{len(on_chain)} Minted events, {len(mints)} mints; only on chain: {sorted(set(on_chain) - set(in_ledger))}, "
        f"only in the ledger: {[(m.id, m.tx_hash) for m in mints if m.tx_hash not in set(on_chain)]}; "
        f"the worker's warnings: {_worker_warnings(stack)}"
    )
    assert len({log["args"]["requestId"] for log in redeemed}) == len(redeemed) == len(redemptions)
    supply = token.functions.totalSupply().call()
    assert supply == pool.outstanding_fen * UNITS_PER_FEN, "chain supply differs from the ledger (R16)"

    minted_by_customer: dict[str, int] = {}
    for m in mints:
        minted_by_customer[m.customer_id] = minted_by_customer.get(m.customer_id, 0) + m.amount_fen
    for customer_id, (available, reserved) in accounts.items():
        assert reserved == 0, customer_id
        assert available + minted_by_customer.get(customer_id, 0) == deposits.get(customer_id, 0), customer_id

    # The issuer's side of the fiat (R3, R13): each payout plus its fee is the amount redeemed and was
    # paid to the bank once; the reserve account holds what mints brought in less what redemptions
    # paid out, the fees sit apart from it, and the ledger's supply is mints less redemptions.
    minted_fen = sum(m.amount_fen for m in mints)
    redeemed_fen = sum(r.amount_fen for r in redemptions)
    for r in redemptions:
        assert r.payout_fen + r.fee_fen == r.amount_fen and r.payout_reference, r
    assert len({r.payout_reference for r in redemptions}) == len(redemptions), "a payout reference was reused"
    assert pool.cash_fen == minted_fen - redeemed_fen, (pool.cash_fen, minted_fen, redeemed_fen)
    assert pool.fees_fen == sum(r.fee_fen for r in redemptions), pool.fees_fen
    assert pool.outstanding_fen == minted_fen - redeemed_fen, "ledger supply is not mints less redemptions"

    for address, next_nonce in nonces.items():
        assert next_nonce == stack.w3.eth.get_transaction_count(address, "latest"), f"nonce of {address} is stuck"

    verify = api.ok("GET", "/v1/audit-log/verify", issuer.staff["auditor"])
    assert verify["ok"] is True, verify
    return {
        "mints": len(mints),
        "redemptions": len(redemptions),
        "supply_units": supply,
        "audit_entries": verify["entries"],
    }


def assert_no_secret_in_logs(stack: Stack, issuer: Issuer, *extra_keys: str) -> int:
    """R43: no API key, pepper or private key in anything the processes wrote. Returns bytes checked."""
    logs = stack.log_text()
    assert logs, "the processes wrote no logs at all; the check would prove nothing"
    secrets = {**stack.secrets(), **{f"api key {key[:8]}…": key for key in [*issuer.all_api_keys(), *extra_keys]}}
    leaked = sorted(name for name, secret in secrets.items() if secret and secret in logs)
    assert not leaked, f"secrets found in the process logs under {stack.folder}: {leaked}"
    return len(logs)
