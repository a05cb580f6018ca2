"""Gas per operation for tCNH and, in the same run, for a plain OpenZeppelin v5 ERC20 + Permit."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from issuer_service.chain.anvil import start_anvil
from issuer_service.chain.compiler import load_artifact
from issuer_service.chain.deploy import DeployConfig, deploy
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.permit import sign_permit
from issuer_service.chain.tx import send_and_wait

OPERATIONS = (
    "mint_new_holder",
    "transfer_cold",
    "transfer_warm",
    "approve",
    "transfer_from",
    "permit",
    "redeem_with_permit",
    "allowlist_add",
    "freeze",
)

# Goals from the foundation issue, with every compliance check on.
GOALS = {
    "transfer_warm": 37_000,
    "transfer_cold": 40_000,
    "mint_new_holder": 55_000,
    "redeem_with_permit": 70_000,
    "allowlist_add": 48_000,
}

AMOUNT = 1_000 * 10**6


def _gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def _fund(w3: Web3, *accounts: LocalAccount) -> None:
    for account in accounts:
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])


def _deadline(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"]) + 3600


def measure_tcnh(w3: Web3) -> dict[str, int]:
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    deployment = deploy(w3, DeployConfig(keys=keys))
    token = w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
    holder, receiver, spender, newcomer = (Account.create() for _ in range(4))
    _fund(w3, holder, receiver, spender)
    now = int(w3.eth.get_block("latest")["timestamp"])
    send_and_wait(w3, keys.attestor, token.functions.attestReserves(10**30, now))

    gas: dict[str, int] = {}
    gas["allowlist_add"] = _gas(send_and_wait(w3, keys.compliance, token.functions.addToAllowList(holder.address)))
    for account in (receiver, spender):
        send_and_wait(w3, keys.compliance, token.functions.addToAllowList(account.address))
    # Supply is already non-zero in steady state: mint once to someone else before measuring.
    send_and_wait(w3, keys.minter, token.functions.mint(spender.address, AMOUNT))
    gas["mint_new_holder"] = _gas(send_and_wait(w3, keys.minter, token.functions.mint(holder.address, 10 * AMOUNT)))
    gas["transfer_cold"] = _gas(send_and_wait(w3, holder, token.functions.transfer(receiver.address, AMOUNT)))
    gas["transfer_warm"] = _gas(send_and_wait(w3, holder, token.functions.transfer(receiver.address, AMOUNT)))
    gas["approve"] = _gas(send_and_wait(w3, holder, token.functions.approve(spender.address, AMOUNT)))
    gas["transfer_from"] = _gas(
        send_and_wait(w3, spender, token.functions.transferFrom(holder.address, receiver.address, AMOUNT // 2))
    )
    chain_id = w3.eth.chain_id
    sig = sign_permit(holder, chain_id=chain_id, token=token.address, spender=spender.address, value=AMOUNT,
                      nonce=token.functions.nonces(holder.address).call(), deadline=_deadline(w3))
    gas["permit"] = _gas(send_and_wait(
        w3, spender, token.functions.permit(holder.address, spender.address, AMOUNT, sig.deadline, sig.v, sig.r, sig.s)
    ))
    sig = sign_permit(holder, chain_id=chain_id, token=token.address, spender=keys.minter.address, value=AMOUNT,
                      nonce=token.functions.nonces(holder.address).call(), deadline=_deadline(w3))
    request_id = Web3.keccak(text="bench-redemption")
    gas["redeem_with_permit"] = _gas(send_and_wait(
        w3, keys.minter,
        token.functions.redeemWithPermit(holder.address, AMOUNT, request_id, sig.deadline, sig.v, sig.r, sig.s),
    ))
    gas["freeze"] = _gas(send_and_wait(w3, keys.compliance, token.functions.freeze(newcomer.address)))
    return gas


def measure_oz_plain(w3: Web3) -> dict[str, int | None]:
    artifact = load_artifact("PlainOZToken")
    owner, holder, receiver, spender = (Account.create() for _ in range(4))
    _fund(w3, owner, holder, receiver, spender)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    address = send_and_wait(w3, owner, factory.constructor(owner.address))["contractAddress"]
    token = w3.eth.contract(address=address, abi=artifact.abi)

    gas: dict[str, int | None] = {"allowlist_add": None, "freeze": None}
    send_and_wait(w3, owner, token.functions.mint(spender.address, AMOUNT))
    gas["mint_new_holder"] = _gas(send_and_wait(w3, owner, token.functions.mint(holder.address, 10 * AMOUNT)))
    gas["transfer_cold"] = _gas(send_and_wait(w3, holder, token.functions.transfer(receiver.address, AMOUNT)))
    gas["transfer_warm"] = _gas(send_and_wait(w3, holder, token.functions.transfer(receiver.address, AMOUNT)))
    gas["approve"] = _gas(send_and_wait(w3, holder, token.functions.approve(spender.address, AMOUNT)))
    gas["transfer_from"] = _gas(
        send_and_wait(w3, spender, token.functions.transferFrom(holder.address, receiver.address, AMOUNT // 2))
    )
    chain_id = w3.eth.chain_id
    sig = sign_permit(holder, chain_id=chain_id, token=address, spender=spender.address, value=AMOUNT,
                      nonce=token.functions.nonces(holder.address).call(), deadline=_deadline(w3),
                      name="Plain OZ Token")
    gas["permit"] = _gas(send_and_wait(
        w3, spender, token.functions.permit(holder.address, spender.address, AMOUNT, sig.deadline, sig.v, sig.r, sig.s)
    ))
    sig = sign_permit(holder, chain_id=chain_id, token=address, spender=owner.address, value=AMOUNT,
                      nonce=token.functions.nonces(holder.address).call(), deadline=_deadline(w3),
                      name="Plain OZ Token")
    gas["redeem_with_permit"] = _gas(send_and_wait(
        w3, owner, token.functions.burnWithPermit(holder.address, AMOUNT, sig.deadline, sig.v, sig.r, sig.s)
    ))
    return gas


def run() -> dict[str, dict[str, int | None]]:
    """{operation: {"tcnh": gas, "oz_plain": gas or None}}, both measured on one fresh Anvil."""
    with start_anvil() as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        tcnh = measure_tcnh(w3)
        plain = measure_oz_plain(w3)
    return {op: {"tcnh": tcnh[op], "oz_plain": plain[op]} for op in OPERATIONS}
