"""Token-level walkthrough on a spawned Anvil (the issuer-service demo builds on the same steps)."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from rich.console import Console
from web3 import Web3

from issuer_service.chain.anvil import start_anvil
from issuer_service.chain.deploy import DeployConfig, deploy
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.permit import sign_permit
from issuer_service.chain.tx import send_and_wait

console = Console(soft_wrap=True)
UNITS = 10**6  # tCNH has 6 decimals


def _tx(receipt: object) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()  # type: ignore[index]


def _units(units: int) -> str:
    return f"{units // UNITS:,}.{units % UNITS:06d}"


def main() -> int:
    out_dir = Path(".sandbox/demo")
    console.rule("[bold]tCNH sandbox demo — SANDBOX, NOT A LICENSED STABLECOIN")
    with start_anvil() as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        keys = RoleKeys.generate()
        keys.fund_on_anvil(w3)
        deployment = deploy(w3, DeployConfig(keys=keys))
        deployment.save(out_dir / "deployment.json")
        token = w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
        console.print(f"deployed tCNH at {deployment.token_address} on Anvil {anvil.url}, roles verified")

        alice, bob = Account.create(), Account.create()
        for holder in (alice, bob):
            w3.provider.make_request("anvil_setBalance", [holder.address, hex(10**20)])
            r = send_and_wait(w3, keys.compliance, token.functions.addToAllowList(holder.address))
            console.print(f"allow-listed {holder.address}  tx {_tx(r)}  (R22)")

        reserve = 1_020 * UNITS  # 1,000 tCNH of backing plus the 2% buffer (R1)
        now = w3.eth.get_block("latest")["timestamp"]
        r = send_and_wait(w3, keys.attestor, token.functions.attestReserves(reserve, now))
        console.print(f"attested reserves 1,020.00 CNH  tx {_tx(r)}  (R1)")

        r = send_and_wait(w3, keys.minter, token.functions.mint(alice.address, 1_000 * UNITS))
        console.print(f"minted 1,000.000000 tCNH to alice  tx {_tx(r)}  gas {r['gasUsed']}")
        try:
            send_and_wait(w3, keys.minter, token.functions.mint(alice.address, 1), gas=200_000)
        except Exception:  # noqa: BLE001 - the revert is the point
            console.print("minting one more unit was refused on chain: it would exceed attested reserves (R1)")

        r = send_and_wait(w3, alice, token.functions.transfer(bob.address, 250 * UNITS))
        console.print(f"alice → bob 250.000000 tCNH  tx {_tx(r)}  gas {r['gasUsed']}")

        deadline = now + 3600
        sig = sign_permit(bob, chain_id=w3.eth.chain_id, token=token.address, spender=keys.minter.address,
                          value=100 * UNITS, nonce=token.functions.nonces(bob.address).call(), deadline=deadline)
        request_id = Web3.keccak(text="demo-redemption-1")
        r = send_and_wait(w3, keys.minter, token.functions.redeemWithPermit(
            bob.address, 100 * UNITS, request_id, sig.deadline, sig.v, sig.r, sig.s))
        console.print(f"bob redeemed 100.000000 tCNH with an EIP-2612 permit  tx {_tx(r)}  gas {r['gasUsed']}")

        supply = token.functions.totalSupply().call()
        console.print(f"\nbalances: alice {_units(token.functions.balanceOf(alice.address).call())}, "
                      f"bob {_units(token.functions.balanceOf(bob.address).call())}; "
                      f"total supply {_units(supply)} tCNH")
    console.print(f"\nDeployment record: {out_dir / 'deployment.json'}")
    console.print("Next: docs/token-design.md (roles and storage), `python scripts/bench_gas.py` (gas).")
    return 0
