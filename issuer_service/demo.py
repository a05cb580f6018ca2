"""README command 1: the whole sandbox through the HTTP API, as a client firm would use it.

Spawns the issuer service (which spawns Anvil and deploys tCNH) on the embedded SQLite default,
then walks: staff keys → buffer capital → onboard two customers → KYC → wallet proof →
deposit → mint → transfer between customers → redeem → audit verify, and prints where to look.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console

from issuer_service.chain.anvil import free_port
from issuer_service.chain.permit import sign_permit

console = Console(soft_wrap=True)
SANDBOX = Path(".sandbox/demo")


class DemoError(RuntimeError):
    pass


class Api:
    """A tiny client: bearer auth, idempotency keys on money-moving POSTs, problem+json errors."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def call(self, method: str, path: str, key: str | None = None, *, json: Any = None, params: Any = None,
             idempotent: bool = False, expect: tuple[int, ...] = (200, 201, 202)) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        response = self.http.request(method, path, json=json, params=params, headers=headers)
        if response.status_code not in expect:
            raise DemoError(f"{method} {path} → {response.status_code}: {response.text[:400]}")
        return dict(response.json())

    def wait(self, path: str, key: str, done: set[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.call("GET", path, key)
            if body["status"] in done:
                return body
            time.sleep(0.1)
        raise DemoError(f"{path} did not reach {done} in {timeout:.0f}s (last: {body['status']})")


def _start_service(port: int, admin_key: str) -> subprocess.Popen[bytes]:
    if SANDBOX.exists():
        shutil.rmtree(SANDBOX)
    SANDBOX.mkdir(parents=True)
    env = {
        **os.environ,
        "CNH_ADMIN_API_KEY": admin_key,
        "CNH_DATABASE_URL": f"sqlite:///{SANDBOX / 'issuer.db'}",
        "CNH_DEPLOYMENT_FILE": str(SANDBOX / "deployment.json"),
        "CNH_PORT": str(port),
    }
    env.pop("RPC_URL", None)
    env.pop("CNH_RPC_URL", None)
    log = open(SANDBOX / "service.log", "wb")  # noqa: SIM115 - owned by the child process
    return subprocess.Popen([sys.executable, "-m", "issuer_service", "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(api: Api, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the service exited early; see {SANDBOX / 'service.log'}")
        try:
            if api.http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise DemoError(f"the service did not start in {timeout:.0f}s; see {SANDBOX / 'service.log'}")


def _bind_wallet(api: Api, key: str, wallet: LocalAccount) -> dict[str, Any]:
    challenge = api.call("GET", "/v1/wallets/challenge", key, params={"address": wallet.address})
    signature = wallet.sign_message(encode_defunct(text=challenge["message"])).signature
    api.call("POST", "/v1/wallets", key, json={"address": wallet.address, "signature": "0x" + signature.hex()})
    return api.wait(f"/v1/wallets/{wallet.address}", key, {"active", "revoked"})


def walkthrough(api: Api, admin: str) -> list[tuple[str, str, str]]:
    steps: list[tuple[str, str, str]] = []

    def step(what: str, result: str, ref: str = "") -> None:
        steps.append((what, result, ref))
        console.print(f"[green]✓[/] {what}: {result} {('[dim]' + ref + '[/]') if ref else ''}")

    keys = {role: api.call("POST", "/v1/api-keys", admin, json={"role": role, "label": f"demo {role}"})["key"]
            for role in ("operator", "compliance", "treasury", "auditor")}
    keys["treasury2"] = api.call("POST", "/v1/api-keys", admin, json={"role": "treasury", "label": "demo checker"})["key"]
    step("staff keys", "operator, compliance, two treasury, auditor (R42)")

    asset = api.call("POST", "/v1/reserves/assets", keys["treasury"], json={
        "kind": "cash", "custodian": "Sandbox Bank HK — reserve a/c 001", "currency": "CNH",
        "nominal": "1000.00", "reference": "ISSUER-CAPITAL-001"})
    api.call("POST", f"/v1/reserves/assets/{asset['id']}/approve", keys["treasury2"])
    step("buffer capital", "1,000.00 CNH recorded by treasury, approved by a second key (R1, R40)", asset["id"])

    customers = {}
    for name in ("Lotus Trading Ltd", "Harbour Payments Ltd"):
        customer = api.call("POST", "/v1/customers", keys["operator"],
                            json={"name": name, "kind": "institution", "jurisdiction": "HK"})
        api.call("POST", f"/v1/customers/{customer['id']}/kyc", keys["compliance"],
                 json={"decision": "approved", "risk": "low", "reference": f"KYC-{customer['id'][-6:]}"})
        key = api.call("POST", f"/v1/customers/{customer['id']}/api-keys", admin, json={})["key"]
        wallet: LocalAccount = Account.create()
        bound = _bind_wallet(api, key, wallet)
        api.call("POST", "/v1/sandbox/faucet", key, json={"address": wallet.address})
        customers[name] = {"id": customer["id"], "key": key, "wallet": wallet}
        step(f"onboarded {name}", f"KYC approved, wallet {wallet.address} proven and {bound['status']} (R20-R22)",
             customer["id"])
    lotus, harbour = customers["Lotus Trading Ltd"], customers["Harbour Payments Ltd"]

    deposit = api.call("POST", "/v1/deposits", keys["operator"], idempotent=True, json={
        "customer_id": lotus["id"], "amount": "10000.00", "currency": "CNH", "bank_reference": "HKBANK-DEMO-0001"})
    step("deposit", "10,000.00 CNH confirmed for Lotus (R10)", deposit["id"])

    mint = api.call("POST", "/v1/mints", lotus["key"], idempotent=True,
                    json={"wallet": lotus["wallet"].address, "amount": "10000.00"})
    mint = api.wait(f"/v1/mints/{mint['id']}", lotus["key"], {"confirmed", "failed", "rejected"})
    step("mint", f"10,000.000000 tCNH {mint['status']} in block {mint['block_number']}", mint["tx_hash"] or "")

    token = api.call("GET", "/v1/token")
    tx_hash = _transfer(token, lotus["wallet"], harbour["wallet"].address, 2_500 * 10**6)
    step("transfer", "2,500.000000 tCNH Lotus → Harbour, signed by Lotus's own key (R22)", tx_hash)

    quote = api.call("GET", "/v1/redemptions/quote", params={"amount": "1000.00"})
    permit = _permit(token, harbour["wallet"], 1_000 * 10**6)
    redemption = api.call("POST", "/v1/redemptions", harbour["key"], idempotent=True, json={
        "wallet": harbour["wallet"].address, "amount": "1000.00", "permit": permit})
    redemption = api.wait(f"/v1/redemptions/{redemption['id']}", harbour["key"], {"paid", "failed"})
    step("redeem", f"1,000.00 CNH {redemption['status']}: burn first, then payout {redemption['payout']} "
                   f"(fee {quote['fee']}) before {redemption['deadline_at']} (R13, R14, R16)",
         redemption["burn_tx_hash"] or "")

    verify = api.call("GET", "/v1/audit-log/verify", keys["auditor"])
    step("audit log", f"{verify['entries']} hash-chained records, verify ok={verify['ok']} (R50)",
         verify["head_hash"][:18] + "…")
    reserves = api.call("GET", "/v1/reserves")
    step("reserves", f"supply {reserves['supply']} CNH, reserves {reserves['reserves']} CNH, ratio "
                     f"{reserves['ratio']}, fully backed: {reserves['fully_backed']} (R1)")
    if mint["status"] != "confirmed" or redemption["status"] != "paid" or not verify["ok"]:
        raise DemoError("the flow did not complete; see the service log")
    return steps


def _transfer(token: dict[str, Any], sender: LocalAccount, to: str, units: int) -> str:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(token["rpc_url"]))
    abi = [{"name": "transfer", "type": "function", "stateMutability": "nonpayable",
            "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
            "outputs": [{"name": "", "type": "bool"}]}]
    contract = w3.eth.contract(address=token["address"], abi=abi)
    tx = contract.functions.transfer(to, units).build_transaction({
        "from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address), "chainId": token["chain_id"]})
    signed = sender.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    if receipt["status"] != 1:
        raise DemoError("the customer transfer reverted")
    return "0x" + bytes(receipt["transactionHash"]).hex()


def _permit(token: dict[str, Any], holder: LocalAccount, units: int) -> dict[str, object]:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(token["rpc_url"]))
    abi = [{"name": "nonces", "type": "function", "stateMutability": "view",
            "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}]
    nonce = w3.eth.contract(address=token["address"], abi=abi).functions.nonces(holder.address).call()
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + 3600
    return sign_permit(holder, chain_id=token["chain_id"], token=token["address"], spender=token["redemption_spender"],
                       value=units, nonce=nonce, deadline=deadline).as_dict()


def main(argv: list[str] | None = None) -> int:
    keep_running = "--keep-running" in (argv if argv is not None else sys.argv[1:])
    console.rule("[bold]CNH stablecoin sandbox — SANDBOX, NOT A LICENSED STABLECOIN")
    port = free_port()
    admin = "cnh_demo_" + secrets.token_urlsafe(24)
    base_url = f"http://127.0.0.1:{port}"
    process = _start_service(port, admin)
    api = Api(base_url)
    try:
        with console.status("starting the issuer service (spawns Anvil, deploys tCNH, migrates SQLite)"):
            _wait_ready(api, process)
        token = api.call("GET", "/v1/token")
        console.print(f"service {base_url} · tCNH {token['address']} on chain {token['chain_id']} ({token['rpc_url']})")
        steps = walkthrough(api, admin)
        console.print(f"\n[bold green]The whole flow worked[/] ({len(steps)} steps).")
        console.print("\n[bold]Where to look[/]")
        console.print(f"  API docs        {base_url}/docs   (while the service runs)")
        console.print(f"  reserves        {base_url}/v1/reserves")
        console.print(f"  audit log       {base_url}/v1/audit-log  (auditor key) and /v1/audit-log/verify")
        console.print(f"  database        {SANDBOX / 'issuer.db'} (SQLite)   service log {SANDBOX / 'service.log'}")
        console.print(f"  deployment      {SANDBOX / 'deployment.json'}   sandbox keys {SANDBOX / 'keys.json'}")
        console.print("  docs            README.md, docs/token-design.md, docs/compliance-matrix.md")
        if keep_running:
            console.print(f"\nThe service keeps running at {base_url}; admin key: {admin}. Ctrl-C to stop.")
            process.wait()
        return 0
    except DemoError as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
