"""README command 1: the whole sandbox through the HTTP API, as a client firm would use it.

Spawns the issuer service (which spawns Anvil and deploys tCNH) on the embedded SQLite default,
then walks, through the Python SDK (`cnh_sdk`): staff keys → buffer capital → onboard two
customers → KYC → wallet proof → deposit → mint → transfer between customers → redeem →
attestation report with a holder's proof of liabilities → audit verify, and prints where to look.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console

from cnh_sdk import Client, CnhError, RetryPolicy, Token, TransportError
from compliance.verify_proof import verify_proof
from issuer_service.chain.anvil import die_with_parent, free_port
from issuer_service.chain.runtime import sandbox_holder

console = Console(soft_wrap=True)
SANDBOX = Path(".sandbox/demo")


class DemoError(RuntimeError):
    pass


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
    # Its own session keeps a Ctrl-C for the demo from reaching it mid-flow; the demo stops it (`finally` in
    # main), and if the demo is killed outright the service gets SIGTERM from the kernel.
    return subprocess.Popen([sys.executable, "-m", "issuer_service", "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    # No SDK retries here: this loop is the retry, and it watches the process too.
    with Client(base_url, retry=RetryPolicy(max_retries=0), timeout=5) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"the service exited early; see {SANDBOX / 'service.log'}")
            try:
                probe.healthz()
                return
            except (TransportError, CnhError):
                pass
            time.sleep(0.2)
    raise DemoError(f"the service did not start in {timeout:.0f}s; see {SANDBOX / 'service.log'}")


def walkthrough(cnh: Client, admin: str) -> list[tuple[str, str, str]]:
    """The README flow through the SDK: `cnh` carries no key; `with_key` acts as each principal."""
    steps: list[tuple[str, str, str]] = []

    def step(what: str, result: str, ref: str = "") -> None:
        steps.append((what, result, ref))
        console.print(f"[green]✓[/] {what}: {result} {('[dim]' + ref + '[/]') if ref else ''}")

    as_admin = cnh.with_key(admin)
    staff = {role: cnh.with_key(as_admin.create_api_key(role, f"demo {role}").key)
             for role in ("operator", "compliance", "treasury", "auditor")}
    staff["treasury2"] = cnh.with_key(as_admin.create_api_key("treasury", "demo checker").key)
    step("staff keys", "operator, compliance, two treasury, auditor (R42)")

    # The custodian is the institution, the same bank as the customer-subscription pool, so R6 sees one
    # custodian; the account number goes in `account` (R3), not in the name.
    asset = staff["treasury"].record_reserve_asset("cash", "Sandbox Bank HK", "1000.00", "ISSUER-CAPITAL-001",
                                                   account="reserve a/c 001")
    staff["treasury2"].approve_reserve_asset(asset.id)
    step("buffer capital", "1,000.00 CNH recorded by treasury, approved by a second key (R1, R40)", asset.id)

    customers: dict[str, tuple[str, Client, LocalAccount]] = {}
    for name in ("Lotus Trading Ltd", "Harbour Payments Ltd"):
        customer = staff["operator"].create_customer(name, "institution", "HK")
        staff["compliance"].decide_kyc(customer.id, "approved", "low", f"KYC-{customer.id[-6:]}")
        as_customer = cnh.with_key(as_admin.create_customer_api_key(customer.id).key)
        wallet: LocalAccount = Account.create()
        bound = as_customer.bind_wallet_with_key(wallet)  # challenge, personal_sign, bind, wait until active
        as_customer.faucet(wallet.address)
        customers[name] = (customer.id, as_customer, wallet)
        step(f"onboarded {name}", f"KYC approved, wallet {wallet.address} proven and {bound.status} (R20-R22)",
             customer.id)
    (lotus_id, lotus, lotus_wallet), (_, harbour, harbour_wallet) = customers.values()

    deposit = staff["operator"].create_deposit(lotus_id, "10000.00", "HKBANK-DEMO-0001")  # Idempotency-Key: auto
    step("deposit", "10,000.00 CNH confirmed for Lotus (R10)", deposit.id)

    mint = lotus.wait_for_mint(lotus.create_mint(lotus_wallet.address, "10000.00").id)
    step("mint", f"10,000.000000 tCNH {mint.status} in block {mint.block_number}", mint.tx_hash or "")

    token = cnh.token()
    tx_hash = _transfer(token, lotus_wallet, harbour_wallet.address, 2_500 * 10**6)
    step("transfer", "2,500.000000 tCNH Lotus → Harbour, signed by Lotus's own key (R22)", tx_hash)

    quote = cnh.redemption_quote("1000.00")
    redemption = harbour.wait_for_redemption(harbour.redeem(harbour_wallet, "1000.00").id)  # signs the permit
    step("redeem", f"1,000.00 CNH {redemption.status}: burn first, then payout {redemption.payout} "
                   f"(fee {quote.fee}) before {_iso(redemption.deadline_at)} (R13, R14, R16)",
         redemption.burn_tx_hash or "")

    attestation = staff["auditor"].create_attestation(redemption.block_number or mint.block_number or 0, wait=60)
    reports = []
    for kind in ("html", "pdf", "json"):
        path = SANDBOX / f"attestation-block-{attestation.as_of_block}.{kind}"
        path.write_bytes(staff["auditor"].attestation_report(attestation.id, kind))
        reports.append(path)
    concentration = json.loads(reports[-1].read_bytes())["concentration"]
    custodians = concentration["custodians"]
    step("concentration", f"{len(custodians)} custodian{'s' if len(custodians) != 1 else ''}: "
                          + ", ".join(f"{c['custodian']} {c['share']}" for c in custodians)
                          + f" of counted reserves, limit {concentration['limit']}: {concentration['result']} (R6)")
    proof = lotus.liability_proof(attestation.id, lotus_wallet.address)
    included = verify_proof(proof, published_root=attestation.proof_of_liabilities_root)
    step("attestation", f"block {attestation.as_of_block}: {attestation.result}, supply {attestation.supply} CNH, "
                        f"{attestation.holders} holders in the proof of liabilities, Lotus's proof "
                        f"{'verifies' if included.ok else 'FAILS'} offline (R52-R54)", str(reports[0]))

    verify = staff["auditor"].verify_audit_log()
    step("audit log", f"{verify.entries} hash-chained records, verify ok={verify.ok} (R50)",
         verify.head_hash[:18] + "…")
    reserves = cnh.get_reserves()
    step("reserves", f"supply {reserves.supply} CNH, reserves {reserves.reserves} CNH, ratio "
                     f"{reserves.ratio}, fully backed: {reserves.fully_backed} (R1)")
    if mint.status != "confirmed" or redemption.status != "paid" or not verify.ok or not included.ok:
        raise DemoError("the flow did not complete; see the service log")
    return steps


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _transfer(token: Token, sender: LocalAccount, to: str, units: int) -> str:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(token.rpc_url))
    abi = [{"name": "transfer", "type": "function", "stateMutability": "nonpayable",
            "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
            "outputs": [{"name": "", "type": "bool"}]}]
    contract = w3.eth.contract(address=Web3.to_checksum_address(token.address), abi=abi)
    tx = contract.functions.transfer(to, units).build_transaction({
        "from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address), "chainId": token.chain_id})
    signed = sender.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    if receipt["status"] != 1:
        raise DemoError("the customer transfer reverted")
    return "0x" + bytes(receipt["transactionHash"]).hex()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bash scripts/demo.sh",
        description="Walk the whole sandbox end to end: spawn the service and a chain, onboard, mint, transfer, "
        f"redeem, attest, audit. Replaces the files of the previous demo in {SANDBOX}.",
    )
    parser.add_argument("--keep-running", action="store_true", help="Leave the service up afterwards.")
    keep_running = parser.parse_args(argv).keep_running  # --help and unknown options exit here, before anything runs
    console.rule("[bold]CNH stablecoin sandbox — SANDBOX, NOT A LICENSED STABLECOIN")
    running = sandbox_holder(SANDBOX)  # its files are about to be replaced: never from under a running service
    if running is not None:
        console.print(
            f"[red]demo failed:[/] a previous demo is still running (service pid {running}) on {SANDBOX}; stop it "
            f"(Ctrl-C where it runs, or kill {running}) and run the demo again"
        )
        return 1
    for stop in (signal.SIGTERM, signal.SIGHUP):  # `kill`, `timeout`, a closed terminal: end as Ctrl-C does
        signal.signal(stop, signal.default_int_handler)
    port = free_port()
    admin = "cnh_demo_" + secrets.token_urlsafe(24)
    base_url = f"http://127.0.0.1:{port}"
    process = _start_service(port, admin)
    cnh = Client(base_url, api_key=None)
    try:
        with console.status("starting the issuer service (spawns Anvil, deploys tCNH, migrates SQLite)"):
            _wait_ready(base_url, process)
        token = cnh.token()
        console.print(f"service {base_url} · tCNH {token.address} on chain {token.chain_id} ({token.rpc_url})")
        steps = walkthrough(cnh, admin)
        console.print(f"\n[bold green]The whole flow worked[/] ({len(steps)} steps).")
        console.print("\n[bold]Where to look[/]")
        console.print(f"  API docs        {base_url}/docs   (while the service runs)")
        console.print(f"  attestation     {SANDBOX}/attestation-block-*.html / .pdf / .json (open the HTML)")
        console.print(f"  transparency    {base_url}/transparency   (while the service runs)")
        console.print(f"  reserves        {base_url}/v1/reserves")
        console.print(f"  audit log       {base_url}/v1/audit-log  (auditor key) and /v1/audit-log/verify")
        console.print(f"  database        {SANDBOX / 'issuer.db'} (SQLite)   service log {SANDBOX / 'service.log'}")
        console.print(f"  deployment      {SANDBOX / 'deployment.json'}   sandbox keys {SANDBOX / 'keys.json'}")
        console.print("  docs            README.md, docs/token-design.md, docs/compliance-matrix.md")
        if keep_running:
            console.print(f"\nThe service keeps running at {base_url}; admin key: {admin}. Ctrl-C to stop.")
            process.wait()
        return 0
    except (DemoError, CnhError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        cnh.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
