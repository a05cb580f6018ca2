"""Build, sign locally and send transactions. Keys never leave the process (R43)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt


class TransactionFailed(RuntimeError):
    """The chain mined the transaction but it reverted, or never mined it."""

    def __init__(self, message: str, receipt: TxReceipt | None = None) -> None:
        super().__init__(message)
        self.receipt = receipt


def fee_fields(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees with head-room for two base-fee increases."""
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    tip = 1_000_000_000 if base_fee else 0
    return {"maxFeePerGas": 2 * base_fee + tip + 1, "maxPriorityFeePerGas": tip}


def build_tx(
    w3: Web3,
    sender: str,
    call: Any = None,
    *,
    nonce: int,
    gas: int | None = None,
    fees: dict[str, int] | None = None,
    value: int = 0,
    to: str | None = None,
    data: str | None = None,
) -> dict[str, Any]:
    """A complete type-2 transaction from a contract call (or raw `to`/`data`)."""
    base: dict[str, Any] = {"from": sender, "nonce": nonce, "chainId": w3.eth.chain_id, "value": value}
    base.update(fees or fee_fields(w3))
    if gas is not None:
        base["gas"] = gas
    if call is not None:
        return dict(call.build_transaction(base))
    base["to"] = to
    base["data"] = data or "0x"
    if gas is None:
        base["gas"] = w3.eth.estimate_gas({k: v for k, v in base.items() if k != "nonce"})
    return base


def sign(account: LocalAccount, tx: dict[str, Any]) -> tuple[bytes, str]:
    signed = account.sign_transaction(tx)
    return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()


def send_and_wait(
    w3: Web3, account: LocalAccount, call: Any = None, *, timeout: float = 60.0, **kwargs: Any
) -> TxReceipt:
    """Send one transaction from `account` and wait for its receipt; raise if it reverted.

    For scripts and tests that own their key. The service allocates nonces from the database.
    """
    nonce = kwargs.pop("nonce", None)
    if nonce is None:
        nonce = w3.eth.get_transaction_count(account.address, "pending")
    tx = build_tx(w3, account.address, call, nonce=nonce, **kwargs)
    raw, _ = sign(account, tx)
    tx_hash = w3.eth.send_raw_transaction(raw)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.hex()} reverted", receipt)
    return receipt
