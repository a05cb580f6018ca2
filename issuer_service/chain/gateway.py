"""The narrow gateway between the issuer service and the EVM: the only object that holds web3.

The service never connects at import time; `create_app(settings, gateway)` receives one of these.
Writes are split into `sign()` (pure, local, done inside the outbox transaction so the signed raw
transaction is stored before it is sent) and `broadcast()` (idempotent: re-sending the same raw
transaction is always safe), so a crash between the two loses nothing and doubles nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import function_abi_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from issuer_service.chain.deploy import Deployment
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.networks import is_local_chain

# Fixed gas limits: signing must not depend on chain state (no estimate), so a stored raw
# transaction can be re-broadcast unchanged after any crash.
GAS_LIMITS = {
    "mint": 120_000,
    "redeemWithPermit": 150_000,
    "addToAllowList": 80_000,
    "removeFromAllowList": 80_000,
    "freeze": 80_000,
    "unfreeze": 80_000,
    "burnFrozen": 120_000,
    "attestReserves": 80_000,
    "pause": 80_000,
    "unpause": 80_000,
}
# Which role key signs which function (R42): one key per power.
SIGNER_ROLE = {
    "mint": "minter",
    "redeemWithPermit": "minter",
    "addToAllowList": "compliance",
    "removeFromAllowList": "compliance",
    "freeze": "compliance",
    "unfreeze": "compliance",
    "burnFrozen": "compliance",
    "attestReserves": "attestor",
    "pause": "pauser",
    "unpause": "pauser",
}
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC1271_ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


class ChainUnavailable(RuntimeError):
    """The JSON-RPC endpoint did not answer; callers answer 503 and retry later."""


class StateUnavailable(RuntimeError):
    """The node answered but no longer serves contract state at this past block: it was restarted
    (Anvil reloads its state file but keeps no history before the restart) or it prunes old state
    (a full node, not an archive node). Asking again will not help; a later block or an archive
    node will."""

    def __init__(self, block: int, node_message: str) -> None:
        super().__init__(f"the node serves no state at block {block}: {node_message}")
        self.block = block
        self.node_message = node_message


# What nodes say when they have the block but not its state: Anvil after a restart, geth/Nethermind
# (pruned trie), Erigon/Reth (pruned history), hosted providers.
_STATE_NOT_SERVED = (
    "blockoutofrange",
    "block height is",
    "missing trie node",
    "header not found",
    "pruned",
    "state not available",
    "state is not available",
    "historical state",
    "state histories haven't been fully indexed",
)


@dataclass(frozen=True)
class SignedTx:
    signer: str
    nonce: int
    raw: bytes
    tx_hash: str


@dataclass(frozen=True)
class TxOutcome:
    """A mined transaction: `success` False means it reverted."""

    tx_hash: str
    block_number: int
    block_hash: str
    success: bool
    gas_used: int


@dataclass(frozen=True)
class AccountState:
    allow_listed: bool
    frozen: bool
    balance_units: int
    permit_nonce: int


@dataclass(frozen=True)
class ReserveState:
    attested_reserve_units: int
    attested_at: int
    max_age_s: int
    buffer_bps: int


@dataclass(frozen=True)
class SigningState:
    """What the outbox worker reads before signing a batch, fetched in one JSON-RPC batch."""

    block_number: int
    block_timestamp: int
    fees: dict[str, int]
    reserve: ReserveState
    total_supply_units: int


class ChainGateway:
    def __init__(
        self, rpc_url: str, deployment: Deployment, keys: RoleKeys, *, confirmations: int = 1, timeout_s: float = 10.0
    ) -> None:
        self.rpc_url = rpc_url
        self.deployment = deployment
        self.keys = keys
        self.confirmations = confirmations
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        self.token = self.w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
        self.chain_id = deployment.chain_id
        self._encoders: dict[str, tuple[bytes, list[str]] | None] = {}  # see calldata()

    # ---------------------------------------------------------------- identity
    @property
    def token_address(self) -> str:
        return str(self.deployment.token_address)

    @property
    def redemption_spender(self) -> str:
        """The minter: holders sign their redemption permit for this address."""
        return str(self.keys.minter.address)

    def signer_address(self, role: str) -> str:
        return str(self._account(role).address)

    def _account(self, role: str) -> LocalAccount:
        account: LocalAccount = getattr(self.keys, role)
        return account

    # ---------------------------------------------------------------- reads
    def _call(self, fn: Any, block: int | str = "latest") -> Any:
        try:
            return fn.call(block_identifier=block)
        except (OSError, ConnectionError) as exc:
            raise ChainUnavailable(f"chain RPC {self.rpc_url} unreachable: {exc.__class__.__name__}") from exc
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            if isinstance(block, int) and _state_not_served(message):
                raise StateUnavailable(block, message) from exc
            raise

    def _rpc(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (OSError, ConnectionError) as exc:
            raise ChainUnavailable(f"chain RPC {self.rpc_url} unreachable: {exc.__class__.__name__}") from exc

    def ping(self) -> int:
        """Latest block number; raises ChainUnavailable if the node does not answer."""
        return int(self._rpc(lambda: self.w3.eth.block_number))

    def head(self) -> int:
        return self.ping()

    def block_hash(self, number: int) -> str | None:
        try:
            block = self._rpc(self.w3.eth.get_block, number)
        except Exception as exc:  # noqa: BLE001 - a missing block after a reorg
            if isinstance(exc, ChainUnavailable):
                raise
            return None
        return "0x" + bytes(block["hash"]).hex()

    def block_timestamp(self, number: int | str = "latest") -> int:
        return int(self._rpc(self.w3.eth.get_block, number)["timestamp"])

    def total_supply(self, block: int | str = "latest") -> int:
        return int(self._call(self.token.functions.totalSupply(), block))

    def balance_of(self, address: str, block: int | str = "latest") -> int:
        return int(self._call(self.token.functions.balanceOf(Web3.to_checksum_address(address)), block))

    def account_state(self, address: str) -> AccountState:
        address = Web3.to_checksum_address(address)
        return AccountState(
            allow_listed=bool(self._call(self.token.functions.isAllowListed(address))),
            frozen=bool(self._call(self.token.functions.isFrozen(address))),
            balance_units=int(self._call(self.token.functions.balanceOf(address))),
            permit_nonce=int(self._call(self.token.functions.nonces(address))),
        )

    def permit_nonce(self, address: str) -> int:
        return int(self._call(self.token.functions.nonces(Web3.to_checksum_address(address))))

    def paused(self) -> bool:
        return bool(self._call(self.token.functions.paused()))

    def reserve_state(self) -> ReserveState:
        reserve, at, max_age, buffer = self._call(self.token.functions.reserveState())
        return ReserveState(int(reserve), int(at), int(max_age), int(buffer))

    def is_contract(self, address: str) -> bool:
        return len(self._rpc(self.w3.eth.get_code, Web3.to_checksum_address(address))) > 0

    def erc1271_valid(self, address: str, message: str, signature: bytes) -> bool:
        """R21 for contract wallets: ask the wallet whether it signed the EIP-191 message."""
        digest = encode_defunct_hash(message)
        wallet = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=ERC1271_ABI)
        try:
            result = self._call(wallet.functions.isValidSignature(digest, signature))
        except (ContractLogicError, ValueError, Web3RPCError):
            return False
        return bytes(result) == ERC1271_MAGIC

    def token_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """Transfer and Redeemed events in [from_block, to_block], oldest first."""
        events = []
        for event in (self.token.events.Transfer, self.token.events.Redeemed):
            logs = self._rpc(lambda ev=event: ev.get_logs(from_block=from_block, to_block=to_block))
            for log in logs:
                events.append(
                    {
                        "event": log["event"],
                        "args": dict(log["args"]),
                        "block_number": int(log["blockNumber"]),
                        "block_hash": "0x" + bytes(log["blockHash"]).hex(),
                        "tx_hash": "0x" + bytes(log["transactionHash"]).hex(),
                        "log_index": int(log["logIndex"]),
                    }
                )
        events.sort(key=lambda e: (e["block_number"], e["log_index"]))
        return events

    # ---------------------------------------------------------------- writes
    def chain_nonce(self, role: str, block: str = "pending") -> int:
        return int(self._rpc(self.w3.eth.get_transaction_count, self.signer_address(role), block))

    def calldata(self, function: str, args: list[Any]) -> str:
        """ABI-encoded call of `function(*args)` on the token, as `token.encode_abi` gives it.

        The outbox signs a batch of calls at a time and web3's contract encoder costs about a
        millisecond per call, so calls whose arguments are all checksummed addresses and in-range
        unsigned integers (mint, attestReserves, allow-list, freeze, ...) are encoded directly with
        eth_abi; anything else goes through web3, which validates it and raises as before."""
        if function not in self._encoders:
            abis = [a for a in self.token.abi if a.get("type") == "function" and a.get("name") == function]
            types = [str(i["type"]) for i in abis[0]["inputs"]] if len(abis) == 1 else []
            plain = len(abis) == 1 and all(t == "address" or _uint_bits(t) for t in types)
            self._encoders[function] = (function_abi_to_4byte_selector(abis[0]), types) if plain else None
        spec = self._encoders[function]
        if spec is not None and len(args) == len(spec[1]) and all(map(_plain_arg, spec[1], args)):
            return "0x" + (spec[0] + abi_encode(spec[1], args)).hex()
        return str(self.token.encode_abi(function, args=args))

    def sign(self, function: str, args: list[Any], nonce: int, fees: dict[str, int]) -> SignedTx:
        """Sign `function(*args)` with its role's key at `nonce`. Local and pure: no RPC."""
        role = SIGNER_ROLE[function]
        account = self._account(role)
        data = self.calldata(function, args)
        tx = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": self.token.address,
            "value": 0,
            "data": data,
            "gas": GAS_LIMITS[function],
            "type": 2,
            **fees,
        }
        signed = account.sign_transaction(tx)
        return SignedTx(
            signer=account.address,
            nonce=nonce,
            raw=bytes(signed.raw_transaction),
            tx_hash="0x" + bytes(signed.hash).hex(),
        )

    def fees(self) -> dict[str, int]:
        block = self._rpc(self.w3.eth.get_block, "latest")
        return _fees_for(int(block.get("baseFeePerGas", 0) or 0))

    def broadcast(self, raw: bytes) -> str:
        """Send a signed transaction. Returns "sent", "known" (already in the pool or mined),
        or "nonce_too_low" (its nonce was used by another transaction: re-sign)."""
        try:
            self._rpc(self.w3.eth.send_raw_transaction, HexBytes(raw))
            return "sent"
        except Web3RPCError as exc:
            result = _classify_send_error(str(exc))
            if result is None:
                raise
            return result

    # ---------------------------------------------------------------- batched (one HTTP round trip each)
    # The outbox worker handles rows in batches; these send one JSON-RPC batch instead of one request
    # per row (toolchain.md: a batch POST is the fastest way to talk to the node).
    def signing_state(self) -> SigningState:
        """Latest block (fees, timestamp), the reserve attestation and the total supply, in one batch."""
        block, reserve, supply = self._batch(
            [
                ("eth_getBlockByNumber", ["latest", False]),
                ("eth_call", [{"to": self.token.address, "data": self.calldata("reserveState", [])}, "latest"]),
                ("eth_call", [{"to": self.token.address, "data": self.calldata("totalSupply", [])}, "latest"]),
            ]
        )
        block = _result(block)
        attested, at, max_age, buffer = self.w3.codec.decode(["uint256"] * 4, _hex_bytes(_result(reserve)))
        (total,) = self.w3.codec.decode(["uint256"], _hex_bytes(_result(supply)))
        return SigningState(
            block_number=int(block["number"], 16),
            block_timestamp=int(block["timestamp"], 16),
            fees=_fees_for(int(block.get("baseFeePerGas") or "0x0", 16)),
            reserve=ReserveState(int(attested), int(at), int(max_age), int(buffer)),
            total_supply_units=int(total),
        )

    def broadcast_many(self, raws: Sequence[bytes]) -> list[str | Web3RPCError]:
        """`broadcast` for many signed transactions in one batch, answers in the same order: "sent",
        "known", "nonce_too_low", or the node's refusal as a Web3RPCError (returned, not raised)."""
        answers: list[str | Web3RPCError] = []
        for response in self._batch([("eth_sendRawTransaction", ["0x" + bytes(raw).hex()]) for raw in raws]):
            error = response.get("error")
            if error is None:
                answers.append("sent")
                continue
            message = str(error)
            result = _classify_send_error(message)
            answers.append(result if result is not None else Web3RPCError(message, rpc_response=response))  # type: ignore[arg-type]
        return answers

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, TxOutcome | None]:
        """Each transaction's mined result at any depth (None: no receipt), in one batch."""
        found: dict[str, TxOutcome | None] = {}
        for tx_hash, response in zip(
            tx_hashes, self._batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes]), strict=True
        ):
            receipt = _result(response)
            if receipt is None or receipt.get("blockNumber") is None:
                found[tx_hash] = None
                continue
            found[tx_hash] = TxOutcome(
                tx_hash=tx_hash,
                block_number=int(receipt["blockNumber"], 16),
                block_hash=str(receipt["blockHash"]),
                success=int(receipt["status"], 16) == 1,
                gas_used=int(receipt["gasUsed"], 16),
            )
        return found

    def outcomes(self, tx_hashes: Sequence[str]) -> dict[str, TxOutcome | None]:
        """`outcome` for many transactions: the mined result once it has the configured
        confirmations, else None. One batch (and one head read when confirmations > 1)."""
        found = self.receipts(tx_hashes)
        if self.confirmations > 1 and any(found.values()):
            head = self.head()
            found = {
                h: o if o is not None and head >= o.block_number + self.confirmations - 1 else None
                for h, o in found.items()
            }
        return found

    def _batch(self, calls: list[tuple[str, list[Any]]], chunk: int = 200) -> list[dict[str, Any]]:
        """Raw JSON-RPC responses in call order. Large batches go in chunks; a node that refuses
        batches gets the calls one by one."""
        responses: list[dict[str, Any]] = []
        for start in range(0, len(calls), chunk):
            part = calls[start : start + chunk]
            try:
                answer: Any = self.w3.provider.make_batch_request(part)  # type: ignore[attr-defined]
                if not isinstance(answer, list):  # the node refused the batch as a whole
                    answer = [self.w3.provider.make_request(method, params) for method, params in part]  # type: ignore[arg-type]
            except (OSError, ConnectionError) as exc:
                raise ChainUnavailable(f"chain RPC {self.rpc_url} unreachable: {exc.__class__.__name__}") from exc
            if len(answer) != len(part):
                raise Web3RPCError(f"batch of {len(part)} calls got {len(answer)} answers")
            responses.extend(dict(r) for r in answer)
        return responses

    def outcome(self, tx_hash: str) -> TxOutcome | None:
        """The mined result once it has the configured confirmations, else None."""
        try:
            receipt = self._rpc(self.w3.eth.get_transaction_receipt, tx_hash)
        except TransactionNotFound:
            return None
        if receipt is None:
            return None
        block_number = int(receipt["blockNumber"])
        if self.confirmations > 1 and self.head() < block_number + self.confirmations - 1:
            return None
        return TxOutcome(
            tx_hash=tx_hash,
            block_number=block_number,
            block_hash="0x" + bytes(receipt["blockHash"]).hex(),
            success=int(receipt["status"]) == 1,
            gas_used=int(receipt["gasUsed"]),
        )

    def is_mined(self, tx_hash: str) -> bool:
        """Whether the chain has a receipt for this hash, at any depth."""
        try:
            return self._rpc(self.w3.eth.get_transaction_receipt, tx_hash) is not None
        except TransactionNotFound:
            return False

    def is_pending(self, tx_hash: str) -> bool:
        try:
            tx = self._rpc(self.w3.eth.get_transaction, tx_hash)
        except TransactionNotFound:
            return False
        return tx is not None

    def release_held(self, signer: str, nonce: int) -> bool:
        """Anvil's pool can hold a transaction as queued although its nonce is the next to be mined
        (added while the one before it was being mined); it then never mines, nor does anything
        signed after it. On a local chain, when `nonce` is the signer's next, clear the signer's
        transactions from the pool so that they can be sent again: the same bytes and hashes, so
        nothing can be mined twice. Returns whether it did."""
        if not self.is_local():
            return False
        if int(self._rpc(self.w3.eth.get_transaction_count, signer, "latest")) != nonce:
            return False  # not next in line: it waits for a lower nonce, as it should
        content = self._rpc(self.w3.provider.make_request, "txpool_content", [])
        by_sender = (content.get("result") or {}).get("queued") or {}
        queued = {address.lower(): held for address, held in by_sender.items()}
        if str(nonce) not in queued.get(signer.lower(), {}):
            return False  # ready, waiting for the next block (interval mining, fee floor): leave it
        answer = self._rpc(self.w3.provider.make_request, "anvil_removePoolTransactions", [signer])
        return "error" not in answer

    # ---------------------------------------------------------------- sandbox
    def is_local(self) -> bool:
        return is_local_chain(self.chain_id)

    def faucet(self, address: str, wei: int) -> str:
        """Give gas money on a local chain only (R55)."""
        if not self.is_local():
            raise PermissionError("the faucet only works on a local sandbox chain")
        address = Web3.to_checksum_address(address)
        current = int(self._rpc(self.w3.eth.get_balance, address))
        self._rpc(self.w3.provider.make_request, "anvil_setBalance", [address, hex(current + wei)])
        return address


def _uint_bits(abi_type: str) -> int:
    """N for "uintN" (256 for "uint"), else 0."""
    if not abi_type.startswith("uint"):
        return 0
    bits = abi_type[4:] or "256"
    return int(bits) if bits.isdigit() else 0


def _plain_arg(abi_type: str, value: Any) -> bool:
    """Whether eth_abi may encode `value` directly: exactly what web3 would accept unchanged."""
    if abi_type == "address":
        return isinstance(value, str) and Web3.is_checksum_address(value)
    return type(value) is int and 0 <= value < 2 ** _uint_bits(abi_type)


def _fees_for(base_fee: int) -> dict[str, int]:
    tip = 1_000_000_000 if base_fee else 0
    # Generous head-room: the same raw transaction may be re-broadcast much later.
    return {"maxFeePerGas": 4 * base_fee + tip + 1, "maxPriorityFeePerGas": tip}


def _classify_send_error(message: str) -> str | None:
    """ "known" (already in the pool or mined), "nonce_too_low" (the nonce is used: ours if mined,
    else someone else's), or None for a real refusal."""
    message = message.lower()
    if "already known" in message or "already imported" in message or "known transaction" in message:
        return "known"
    if "nonce too low" in message or "nonce has already been used" in message:
        return "nonce_too_low"
    return None


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's own words: the `message` of the JSON-RPC error when there is one."""
    response = exc.rpc_response if isinstance(exc.rpc_response, dict) else {}
    error = response.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(exc)


def _state_not_served(message: str) -> bool:
    message = message.lower()
    return any(marker in message for marker in _STATE_NOT_SERVED)


def _result(response: dict[str, Any]) -> Any:
    if response.get("error") is not None:
        raise Web3RPCError(str(response["error"]), rpc_response=response)  # type: ignore[arg-type]
    return response.get("result")


def _hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def encode_defunct_hash(message: str) -> bytes:
    """EIP-191 personal_sign hash of `message`."""
    from eth_account.messages import _hash_eip191_message

    return bytes(_hash_eip191_message(encode_defunct(text=message)))


def recover_personal_sign(message: str, signature: bytes) -> str:
    return str(Account.recover_message(encode_defunct(text=message), signature=signature))
