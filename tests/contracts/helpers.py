"""Helpers for the contract tests: exact custom-error checks, event decoding and a fast raw JSON-RPC path.

Two ways to talk to the chain live here:

* `assert_reverts(env, account, call, "Error(type,...)", *args)` goes through web3's own client (the
  `ContractCustomError` the service will see) and then sends the transaction to prove it also
  reverts when mined. Use it in the example-based tests.
* `Rpc` speaks raw JSON-RPC (one request per read, JSON-RPC batches for many reads, local signing
  with a fixed fee) because web3's contract calls cost ~5 round trips each. The Hypothesis tests
  run thousands of operations and need it to stay inside the suite's time budget.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from web3 import Web3
from web3.exceptions import ContractLogicError

from issuer_service.chain.compiler import load_artifact
from issuer_service.chain.permit import TOKEN_NAME, PermitSignature, permit_typed_data
from issuer_service.chain.tx import TransactionFailed, send_and_wait
from tests.chain_fixtures import TokenEnv
from tests.sizes import FULL_SIZE

ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1
MAX_UINT128 = 2**128 - 1
BPS = 10_000
DEPLOY_GAS = 8_000_000  # ample for any of our contracts, so a failed deployment is the contract's revert

# --------------------------------------------------------------------------------------------------
# Hypothesis profiles, applied per test with @settings(hypothesis_profile()) and never loaded
# globally, so other suites keep their own settings. Each example talks to Anvil, so counts are
# moderate and there is no per-example deadline (wall time follows machine load, not the code).
#   contracts       local default: derandomized, 25 examples, 25 steps per stateful run
#   contracts-ci    when CI is set: derandomized (same examples every run), 20 examples, 20 steps
#   contracts-deep  on demand, for a long hunt: random, 300 examples, 50 steps (also with CNH_FULL_SIZE=1)
# The default runs are derandomized because the stateful test also checks that its run was not
# vacuous (some mint, transfer and redemption succeeded); a random run of 25 short sequences can
# miss one by chance, and the README's test command must not fail by chance. Hunt with -deep.
# Override with TCNH_HYPOTHESIS_PROFILE=<name>.
# --------------------------------------------------------------------------------------------------

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("contracts", max_examples=25, stateful_step_count=25, derandomize=True, **_COMMON)
settings.register_profile("contracts-ci", max_examples=20, stateful_step_count=20, derandomize=True, **_COMMON)
settings.register_profile("contracts-deep", max_examples=300, stateful_step_count=50, **_COMMON)


def hypothesis_profile() -> settings:
    default = "contracts-deep" if FULL_SIZE else "contracts-ci" if os.environ.get("CI") else "contracts"
    return settings.get_profile(os.environ.get("TCNH_HYPOTHESIS_PROFILE", default))


# --------------------------------------------------------------------------------------------------
# Custom errors
# --------------------------------------------------------------------------------------------------


def _checksum(abi_type: str, value: Any) -> Any:
    """Decoded ABI values with addresses in checksum form, so they compare equal to account.address."""
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if abi_type == "address[]":
        return tuple(Web3.to_checksum_address(a) for a in value)
    return value


_SIGNATURE = re.compile(r"^(\w+)\((.*)\)$")


def _split_signature(signature: str) -> tuple[str, list[str]]:
    match = _SIGNATURE.match(signature.replace(" ", ""))
    assert match, f"not an error signature: {signature!r}"
    types = [t for t in match.group(2).split(",") if t]
    return match.group(1), types


def selector(signature: str) -> bytes:
    """The 4-byte selector of an error or function signature, e.g. `AccountFrozen(address)`."""
    return bytes(Web3.keccak(text=signature.replace(" ", ""))[:4])


def encode_error(signature: str, *args: Any) -> str:
    """0x-hex revert data of `signature` with `args`, exactly as the contract would return it."""
    _, types = _split_signature(signature)
    assert len(types) == len(args), f"{signature} takes {len(types)} args, got {len(args)}"
    return "0x" + (selector(signature) + abi_encode(types, list(args))).hex()


class ErrorDecoder:
    """Turns revert data into (name, args) using the errors declared in one or more ABIs."""

    def __init__(self, *abis: Sequence[dict[str, Any]]) -> None:
        # Solidity's built-in reverts, so a message shows "Panic (17,)" rather than unknown bytes.
        self._by_selector: dict[bytes, tuple[str, list[str]]] = {
            selector("Panic(uint256)"): ("Panic", ["uint256"]),
            selector("Error(string)"): ("Error", ["string"]),
        }
        for abi in abis:
            for item in abi:
                if item["type"] == "error":
                    types = [i["type"] for i in item["inputs"]]
                    sig = f"{item['name']}({','.join(types)})"
                    self._by_selector[selector(sig)] = (item["name"], types)

    def decode(self, data: str | bytes) -> tuple[str, tuple[Any, ...]]:
        raw = bytes.fromhex(data[2:] if isinstance(data, str) else data.hex()) if data else b""
        if len(raw) < 4:
            return ("<empty revert>", (raw.hex(),))
        known = self._by_selector.get(raw[:4])
        if known is None:
            return (f"<unknown 0x{raw[:4].hex()}>", (raw[4:].hex(),))
        name, types = known
        values = abi_decode(types, raw[4:])
        return name, tuple(_checksum(t, v) for t, v in zip(types, values, strict=True))


def revert_data(call: Any, sender: str) -> str | None:
    """The revert data of `call` from `sender` (eth_call via web3), or None if it succeeds.

    web3 raises ContractCustomError for custom errors (what the contract should always use) and
    ContractPanicError / ContractLogicError otherwise; all carry the raw data for the comparison.
    """
    try:
        call.call({"from": sender})
    except ContractLogicError as exc:
        data = exc.data
        return data if isinstance(data, str) else "0x" + bytes(data or b"").hex()
    return None


def assert_reverts(env: TokenEnv, account: LocalAccount, call: Any, signature: str, *args: Any,
                   mined: bool = True) -> None:
    """Assert `call` from `account` reverts with exactly `signature(*args)`; also when mined."""
    expected = encode_error(signature, *args)
    actual = revert_data(call, account.address)
    decoder = ErrorDecoder(env.token.abi)
    assert actual is not None, f"expected revert {signature}{args}, but the call succeeds"
    assert actual == expected, f"expected {signature}{args}, got {decoder.decode(actual)}"
    if mined:
        with pytest.raises(TransactionFailed):
            env.send(account, call)


# --------------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------------

def _hex_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


class EventDecoder:
    """Decodes the logs of one contract into (name, args-tuple) in log order."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self._by_topic: dict[bytes, dict[str, Any]] = {}
        for item in abi:
            if item["type"] == "event":
                sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                self._by_topic[bytes(Web3.keccak(text=sig))] = item

    def decode_log(self, log: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        topics = [_hex_bytes(t) for t in log["topics"]]
        event = self._by_topic[topics[0]]
        data_types = [i["type"] for i in event["inputs"] if not i["indexed"]]
        data_values = list(abi_decode(data_types, _hex_bytes(log["data"])))
        indexed = iter(topics[1:])
        values: list[Any] = []
        for item in event["inputs"]:
            if item["indexed"]:
                (value,) = abi_decode([item["type"]], next(indexed))
            else:
                value = data_values.pop(0)
            values.append(Web3.to_checksum_address(value) if item["type"] == "address" else value)
        return event["name"], tuple(values)

    def decode(self, receipt: dict[str, Any], address: str,
               names: Iterable[str] | None = None) -> list[tuple[str, tuple[Any, ...]]]:
        wanted = set(names) if names is not None else None
        out = []
        for log in receipt["logs"]:
            if Web3.to_checksum_address(log["address"]) != Web3.to_checksum_address(address):
                continue
            name, args = self.decode_log(log)
            if wanted is None or name in wanted:
                out.append((name, args))
        return out


def events(env: TokenEnv, receipt: Any, *names: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The token's events in `receipt`, optionally only those named."""
    return EventDecoder(env.token.abi).decode(receipt, env.token.address, names or None)


# --------------------------------------------------------------------------------------------------
# Chain helpers used by the example-based tests
# --------------------------------------------------------------------------------------------------

def rpc(env: TokenEnv, method: str, params: list[Any] | None = None) -> Any:
    reply = env.w3.provider.make_request(method, params or [])
    assert "error" not in reply, f"{method} failed: {reply['error']}"
    return reply["result"]


def increase_time(env: TokenEnv, seconds: int) -> int:
    """Move chain time forward by `seconds` and mine a block; returns the new latest timestamp."""
    rpc(env, "evm_increaseTime", [seconds])
    rpc(env, "evm_mine", [])
    return env.now()


def mine_at(env: TokenEnv, timestamp: int) -> None:
    """Mine an empty block with exactly `timestamp` (eth_call then sees that block.timestamp)."""
    rpc(env, "evm_mine", [timestamp])


def set_next_block_timestamp(env: TokenEnv, timestamp: int) -> None:
    rpc(env, "evm_setNextBlockTimestamp", [timestamp])


def role_id(env: TokenEnv, constant: str) -> bytes:
    return bytes(getattr(env.token.functions, constant)().call())


def fund_holder(env: TokenEnv, amount: int, *, reserve: int = 10**15) -> LocalAccount:
    """A new allow-listed account holding `amount`, minted against a fresh attestation of `reserve`."""
    holder = env.new_account(allow=True)
    env.attest(reserve)
    env.send(env.keys.minter, env.token.functions.mint(holder.address, amount))
    return holder


def sign_permit_as(signer: LocalAccount, *, owner: str, chain_id: int, token: str, spender: str, value: int,
                   nonce: int, deadline: int, name: str = TOKEN_NAME) -> PermitSignature:
    """`signer`'s signature over the permit of `owner` (a forgery when signer is not the owner)."""
    typed = permit_typed_data(chain_id=chain_id, token=token, owner=owner, spender=spender, value=value,
                              nonce=nonce, deadline=deadline, name=name)
    signed = Account.sign_message(encode_typed_data(full_message=typed), signer.key)
    return PermitSignature(deadline=deadline, v=signed.v, r="0x" + signed.r.to_bytes(32, "big").hex(),
                           s="0x" + signed.s.to_bytes(32, "big").hex())


def sign_token_permit(env: TokenEnv, holder: LocalAccount, spender: str, value: int, *,
                      deadline: int | None = None, nonce: int | None = None,
                      signer: LocalAccount | None = None) -> PermitSignature:
    """The holder's EIP-2612 permit over tCNH's domain (signed by `signer` instead, to forge one)."""
    if nonce is None:
        nonce = env.token.functions.nonces(holder.address).call()
    if deadline is None:
        deadline = env.now() + 3600
    return sign_permit_as(signer or holder, owner=holder.address, chain_id=env.w3.eth.chain_id,
                          token=env.token.address, spender=spender, value=value, nonce=nonce, deadline=deadline)


def deploy_plain_oz(env: TokenEnv, owner: LocalAccount) -> Any:
    """Deploy the reference PlainOZToken (owner mints) on the same Anvil."""
    artifact = load_artifact("PlainOZToken")
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send_and_wait(env.w3, owner, factory.constructor(owner.address), gas=DEPLOY_GAS)
    return env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


# --------------------------------------------------------------------------------------------------
# Fast raw JSON-RPC path for the Hypothesis tests
# --------------------------------------------------------------------------------------------------

class RpcError(RuntimeError):
    pass


@dataclass(frozen=True)
class Outcome:
    """Result of an eth_call: `ok` with decoded outputs, or the raw revert data."""

    ok: bool
    value: Any = None
    revert: str | None = None


class TxReverted(RuntimeError):
    def __init__(self, receipt: dict[str, Any]) -> None:
        super().__init__(f"transaction {receipt['transactionHash']} reverted")
        self.receipt = receipt


class Rpc:
    """Raw JSON-RPC against Anvil: one round trip per read, batched reads, local signing."""

    MAX_FEE = 100 * 10**9  # Anvil's base fee starts at 1 gwei and only falls on a quiet chain

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.provider = w3.provider
        self.chain_id = int(w3.eth.chain_id)
        self._abi_cache: dict[tuple[int, str], dict[str, Any]] = {}

    def request(self, method: str, params: list[Any]) -> Any:
        reply = self.provider.make_request(method, params)
        if "error" in reply:
            raise RpcError(f"{method}: {reply['error']}")
        return reply["result"]

    def _fn_abi(self, contract: Any, fn: str) -> dict[str, Any]:
        key = (id(contract.abi), fn)
        if key not in self._abi_cache:
            matches = [i for i in contract.abi if i["type"] == "function" and i["name"] == fn]
            assert len(matches) == 1, f"{fn} is missing or overloaded"
            item = dict(matches[0])
            types = [i["type"] for i in item["inputs"]]
            item["_selector"] = selector(f"{fn}({','.join(types)})")
            item["_types"] = types
            self._abi_cache[key] = item
        return self._abi_cache[key]

    def encode(self, contract: Any, fn: str, args: Sequence[Any]) -> str:
        """Calldata, encoded with eth_abi directly (web3's encode_abi re-validates the whole ABI each time)."""
        item = self._fn_abi(contract, fn)
        return "0x" + (item["_selector"] + abi_encode(item["_types"], list(args))).hex()

    def _decode_output(self, contract: Any, fn: str, result: str) -> Any:
        types = [o["type"] for o in self._fn_abi(contract, fn)["outputs"]]
        values = abi_decode(types, bytes.fromhex(result.removeprefix("0x")))
        values = tuple(_checksum(t, v) for t, v in zip(types, values, strict=True))
        return values[0] if len(values) == 1 else values

    def try_call(self, contract: Any, fn: str, *args: Any, sender: str | None = None) -> Outcome:
        tx = {"to": contract.address, "data": self.encode(contract, fn, args)}
        if sender is not None:
            tx["from"] = sender
        reply = self.provider.make_request("eth_call", [tx, "latest"])
        if "error" in reply:
            data = reply["error"].get("data")
            if data is None:
                raise RpcError(f"eth_call {fn}: {reply['error']}")
            return Outcome(ok=False, revert=data if isinstance(data, str) else str(data))
        return Outcome(ok=True, value=self._decode_output(contract, fn, reply["result"]))

    def read(self, contract: Any, fn: str, *args: Any) -> Any:
        outcome = self.try_call(contract, fn, *args)
        assert outcome.ok, f"{fn}{args} reverted: {outcome.revert}"
        return outcome.value

    def reads(self, calls: Sequence[tuple[Any, str, Sequence[Any]]]) -> list[Any]:
        """Many view calls in one JSON-RPC batch."""
        if not calls:
            return []
        batch = [("eth_call", [{"to": c.address, "data": self.encode(c, fn, args)}, "latest"])
                 for c, fn, args in calls]
        replies = self.provider.make_batch_request(batch)
        assert isinstance(replies, list), f"batch failed: {replies}"
        out = []
        for (c, fn, args), reply in zip(calls, replies, strict=True):
            assert "error" not in reply, f"{fn}{tuple(args)} failed: {reply['error']}"
            out.append(self._decode_output(c, fn, reply["result"]))
        return out

    def send(self, account: LocalAccount, contract: Any, fn: str, *args: Any, gas: int = 1_000_000) -> dict[str, Any]:
        """Sign locally, send, return the receipt; raise TxReverted if it was mined reverted."""
        return self.send_data(account, contract.address, self.encode(contract, fn, args), gas=gas)

    def send_data(self, account: LocalAccount, to: str | None, data: str, gas: int = 1_000_000) -> dict[str, Any]:
        nonce = int(self.request("eth_getTransactionCount", [account.address, "pending"]), 16)
        tx: dict[str, Any] = {
            "type": 2, "chainId": self.chain_id, "nonce": nonce, "data": data, "value": 0, "gas": gas,
            "maxFeePerGas": self.MAX_FEE, "maxPriorityFeePerGas": 0,
        }
        if to is not None:
            tx["to"] = to
        signed = account.sign_transaction(tx)
        tx_hash = self.request("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
        deadline = time.monotonic() + 30
        receipt = self.request("eth_getTransactionReceipt", [tx_hash])
        while receipt is None:
            assert time.monotonic() < deadline, f"no receipt for {tx_hash}"
            time.sleep(0.01)
            receipt = self.request("eth_getTransactionReceipt", [tx_hash])
        if int(receipt["status"], 16) != 1:
            raise TxReverted(receipt)
        return receipt

    def snapshot(self) -> str:
        return str(self.request("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        assert self.request("evm_revert", [snapshot_id]) is True, f"evm_revert({snapshot_id}) failed"

    def now(self) -> int:
        return int(self.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def increase_time(self, seconds: int) -> None:
        self.request("evm_increaseTime", [seconds])
        self.request("evm_mine", [])

    def fund(self, *addresses: str) -> None:
        for address in addresses:
            self.request("anvil_setBalance", [address, hex(10**21)])
