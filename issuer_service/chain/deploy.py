"""Deploy the tCNH token, hand each role to its intended key, and verify the result.

`deploy(w3, config) -> Deployment` is what tests and the service call; `scripts/deploy.py` is a
thin CLI on top.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import TxReceipt

from issuer_service.chain.compiler import load_artifact
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.networks import check_chain_allowed
from issuer_service.chain.tx import fee_fields, send_and_wait

TOKEN_CONTRACT = "TCNHToken"  # noqa: S105 - a contract name
ROLE_CONSTANTS = {
    "admin": "DEFAULT_ADMIN_ROLE",
    "minter_admin": "MINTER_ADMIN_ROLE",
    "pauser": "PAUSER_ROLE",
    "compliance": "COMPLIANCE_ROLE",
    "attestor": "ATTESTOR_ROLE",
}
# Gas bounds for the two set-up calls, which cannot be estimated before the contract exists:
# about twice what they use on Anvil (configureMinter ~128k, the first attestReserves ~31k).
CONFIGURE_MINTER_GAS_BOUND = 250_000
ATTEST_RESERVES_GAS_BOUND = 100_000
# What a node says when a sender cannot pay gas x maxFeePerGas: geth/reth, then Anvil's estimate.
_OUT_OF_FUNDS_MARKERS = ("insufficient funds", "gas required exceeds allowance")


class DeployError(RuntimeError):
    """Deployment failed or left the roles other than intended."""


@dataclass(frozen=True)
class DeployConfig:
    keys: RoleKeys
    minter_allowance_units: int = 10**18  # 1e12 tCNH; the reserve cap is the real limit (R1)
    buffer_bps: int = 200  # R1, HK profile default
    max_attestation_age_s: int = 86_400
    initial_reserve_units: int = 0  # first attestation; 0 = attest "no reserves yet"
    allow_mainnet: bool = False  # R55


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    token_address: str
    block_number: int
    deploy_tx: str
    code_hash: str
    roles: dict[str, str]
    minters: dict[str, int]
    buffer_bps: int
    max_attestation_age_s: int
    deployer: str
    deployed_at: int
    abi: list[dict[str, Any]] = field(repr=False, default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("abi")
        data["label"] = "SANDBOX - NOT A LICENSED STABLECOIN (R55)"
        data["minters"] = {k: str(v) for k, v in self.minters.items()}
        return json.dumps(data, indent=2, sort_keys=True)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        data = json.loads(Path(path).read_text())
        data.pop("label", None)
        data["minters"] = {k: int(v) for k, v in data["minters"].items()}
        return cls(**data, abi=load_artifact(TOKEN_CONTRACT).abi)


Progress = Callable[[str], None]


def deploy(w3: Web3, config: DeployConfig, progress: Progress | None = None) -> Deployment:
    """Deploy and configure tCNH; returns only after verifying every role (R42)."""
    say = progress or (lambda _msg: None)
    chain_id = w3.eth.chain_id
    check_chain_allowed(chain_id, allow_mainnet=config.allow_mainnet)
    keys = config.keys
    artifact = load_artifact(TOKEN_CONTRACT)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    constructor = factory.constructor(
        keys.admin.address,
        keys.minter_admin.address,
        keys.pauser.address,
        keys.compliance.address,
        keys.attestor.address,
        config.buffer_bps,
        config.max_attestation_age_s,
    )
    # Estimated without a fee, so an unfunded deployer still gets a number to be told about.
    _require_funds(w3, keys, deploy_gas=constructor.estimate_gas({"from": keys.deployer.address}))

    say("deploying TCNHToken")
    receipt = _send(w3, keys, "deployer", constructor)
    address = receipt["contractAddress"]
    token = w3.eth.contract(address=address, abi=artifact.abi)

    say(f"configuring minter {keys.minter.address}")
    _send(w3, keys, "minter_admin", token.functions.configureMinter(keys.minter.address, config.minter_allowance_units))
    say("posting the first reserve attestation")
    now = w3.eth.get_block("latest")["timestamp"]
    _send(w3, keys, "attestor", token.functions.attestReserves(config.initial_reserve_units, now))

    roles = {name: getattr(keys, name).address for name in ROLE_CONSTANTS}
    minters = {keys.minter.address: config.minter_allowance_units}
    say("verifying roles")
    verify_roles(token, roles, minters)
    code = w3.eth.get_code(address)
    return Deployment(
        chain_id=chain_id,
        token_address=address,
        block_number=receipt["blockNumber"],
        deploy_tx="0x" + bytes(receipt["transactionHash"]).hex(),
        code_hash="0x" + Web3.keccak(code).hex().removeprefix("0x"),
        roles=roles,
        minters=minters,
        buffer_bps=config.buffer_bps,
        max_attestation_age_s=config.max_attestation_age_s,
        deployer=keys.deployer.address,
        deployed_at=int(time.time()),
        abi=artifact.abi,
    )


def actual_roles(token: Any) -> dict[str, list[str]]:
    """Every holder of every role, read from the chain."""
    held = {}
    for name, constant in ROLE_CONSTANTS.items():
        role_id = getattr(token.functions, constant)().call()
        held[name] = sorted(token.functions.getRoleMembers(role_id).call())
    held["minter"] = sorted(token.functions.minters().call())
    return held


def verify_roles(token: Any, roles: dict[str, str], minters: dict[str, int]) -> None:
    """Raise unless exactly the intended key holds each role and nothing else holds any (R42)."""
    held = actual_roles(token)
    problems = []
    for name, address in roles.items():
        if held[name] != [address]:
            problems.append(f"{name}: expected [{address}], chain has {held[name]}")
    if held["minter"] != sorted(minters):
        problems.append(f"minter: expected {sorted(minters)}, chain has {held['minter']}")
    for minter, allowance in minters.items():
        actual = token.functions.minterAllowance(minter).call()
        if actual != allowance:
            problems.append(f"minter {minter}: allowance {actual}, expected {allowance}")
    if problems:
        raise DeployError("roles are not as intended: " + "; ".join(problems))


def _require_funds(w3: Web3, keys: RoleKeys, *, deploy_gas: int) -> None:
    """Refuse before sending anything unless every sending key can pay for its transaction.

    A node wants gas limit x maxFeePerGas in the balance up front; a key with less fails with an
    opaque RPC error, and a half-funded set would fail after the token is already deployed. The
    fee cap is the one `send_and_wait` offers; the set-up calls use the bounds above.
    """
    max_fee = fee_fields(w3)["maxFeePerGas"]
    gas_by_sender = {
        "deployer": deploy_gas,
        "minter_admin": CONFIGURE_MINTER_GAS_BOUND,
        "attestor": ATTEST_RESERVES_GAS_BOUND,
    }
    short = []
    for name, gas in gas_by_sender.items():
        address = getattr(keys, name).address
        balance, needed = w3.eth.get_balance(address), gas * max_fee
        if balance < needed:
            short.append(f"{name} ({address}) has {balance} wei, needs at least {needed} wei")
    if short:
        raise DeployError(
            f"these keys have too little gas money on chain {w3.eth.chain_id}: {'; '.join(short)}; fund them first"
        )


def _send(w3: Web3, keys: RoleKeys, sender: str, call: Any) -> TxReceipt:
    """`send_and_wait` from one role's key, turning a node's out-of-funds error into the same
    "fund it first" line `_require_funds` gives (the fee may have risen since the check)."""
    account = getattr(keys, sender)
    try:
        return send_and_wait(w3, account, call)
    except Web3RPCError as exc:
        if not any(marker in str(exc).lower() for marker in _OUT_OF_FUNDS_MARKERS):
            raise
        raise DeployError(
            f"{sender} ({account.address}) cannot pay for gas on chain {w3.eth.chain_id} "
            f"(balance {w3.eth.get_balance(account.address)} wei); fund it first"
        ) from None
