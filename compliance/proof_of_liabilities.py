"""Proof of liabilities (R54): a Merkle sum tree over holder balances at one block.

Every node carries a hash and a sum. A holder receives the path from their leaf to the root; by
recomputing it they see that their exact balance is counted in the published total, and because
every sum in the path is a non-negative 256-bit integer, no other holder's balance can have been
used to hide theirs.

Hashing (SHA-256, all integers 32-byte big-endian, addresses 20 bytes):

    context = H(DOMAIN || chain_id || token address || block)
    leaf    = H(0x00 || context || holder address || balance)
    node    = H(0x01 || left.hash || left.sum || right.hash || right.sum),  sum = left.sum + right.sum
    empty   = H(0x02 || context), sum 0   (pads a level with an odd number of nodes)

Both child sums are hashed separately, not only their total, which closes the known hole in the
original Maxwell scheme where a prover could move value between siblings. The context binds a proof
to one token, chain and block, so a proof cannot be replayed against another report. Leaves are
ordered by address, so the same balances always give the same root.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

DOMAIN = b"cnh-sandbox/proof-of-liabilities/v1"
SCHEME = "merkle-sum-sha256-v1"
PROOF_FORMAT = "cnh-sandbox/proof-of-liabilities/v1"
MAX_UINT256 = 2**256 - 1

_LEAF, _NODE, _EMPTY = b"\x00", b"\x01", b"\x02"
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)
_sha256 = hashlib.sha256


class ProofOfLiabilitiesError(ValueError):
    """The balances cannot be put in a tree (duplicate address, bad amount, bad address)."""


def _u256(value: int) -> bytes:
    return value.to_bytes(32, "big")


def address_bytes(address: str) -> bytes:
    """0x + 40 hex digits → 20 bytes (case is ignored: the checksum is not part of the hash)."""
    if not isinstance(address, str) or not _ADDRESS_RE.fullmatch(address):
        raise ProofOfLiabilitiesError(f"{address!r} is not an EVM address (0x followed by 40 hex digits)")
    return bytes.fromhex(address[2:])


def context_hash(chain_id: int, token: str, block: int) -> bytes:
    """Binds every leaf to one token contract on one chain at one block."""
    for name, value in (("chain_id", chain_id), ("block", block)):
        if type(value) is not int or not 0 <= value <= MAX_UINT256:
            raise ProofOfLiabilitiesError(f"{name} must be a non-negative int, got {value!r}")
    return _sha256(DOMAIN + _u256(chain_id) + address_bytes(token) + _u256(block)).digest()


def leaf_hash(context: bytes, address: bytes, balance_units: int) -> bytes:
    return _sha256(_LEAF + context + address + _u256(balance_units)).digest()


def node_hash(left_hash: bytes, left_sum: int, right_hash: bytes, right_sum: int) -> bytes:
    return _sha256(_NODE + left_hash + _u256(left_sum) + right_hash + _u256(right_sum)).digest()


def empty_hash(context: bytes) -> bytes:
    return _sha256(_EMPTY + context).digest()


def tree_depth(leaf_count: int) -> int:
    """Levels above the leaves: ceil(log2(n)), 0 for one leaf (the leaf is the root)."""
    return max(0, (leaf_count - 1).bit_length())


class PathStep(NamedTuple):
    """The sibling at one level; whether it sits left or right follows from the leaf index."""

    hash: bytes
    sum_units: int


@dataclass(frozen=True)
class InclusionProof:
    chain_id: int
    token: str
    block: int
    root_hash: str
    total_units: int
    leaf_count: int
    leaf_index: int
    address: str
    balance_units: int
    path: tuple[PathStep, ...]

    def to_json(self) -> dict[str, object]:
        """The standalone proof document: amounts as integer strings (exact in any language)."""
        return {
            "format": PROOF_FORMAT,
            "scheme": SCHEME,
            "chain_id": self.chain_id,
            "token": self.token,
            "block": self.block,
            "root_hash": self.root_hash,
            "total_units": str(self.total_units),
            "leaf_count": self.leaf_count,
            "leaf_index": self.leaf_index,
            "address": self.address,
            "balance_units": str(self.balance_units),
            "path": [{"hash": step.hash.hex(), "sum_units": str(step.sum_units)} for step in self.path],
        }


class SumTree:
    """A built Merkle sum tree. `levels[0]` are the leaves, `levels[-1]` is the root."""

    def __init__(self, balances: Mapping[str, int], *, chain_id: int, token: str, block: int) -> None:
        self.chain_id, self.token, self.block = chain_id, token, block
        self.context = context_hash(chain_id, token, block)
        entries: list[tuple[bytes, str, int]] = []
        for address, balance in balances.items():
            if type(balance) is not int or not 0 < balance <= MAX_UINT256:
                raise ProofOfLiabilitiesError(
                    f"balance of {address} must be a positive int of token units, "
                    f"got {balance!r} (leave zero balances out)"
                )
            entries.append((address_bytes(address), address, balance))
        entries.sort()
        for previous, current in zip(entries, entries[1:], strict=False):
            if previous[0] == current[0]:
                raise ProofOfLiabilitiesError(f"address {current[1]} appears twice (addresses are case-insensitive)")
        self.addresses: list[str] = [address for _, address, _ in entries]
        self.balances: list[int] = [balance for _, _, balance in entries]
        if sum(self.balances) > MAX_UINT256:  # every partial sum in the tree is below the total
            raise ProofOfLiabilitiesError("the balances add up to more than 2**256 - 1")
        self._index = {raw: i for i, (raw, _, _) in enumerate(entries)}
        context, leaf, empty = self.context, leaf_hash, empty_hash(self.context)
        hashes = [leaf(context, raw, balance) for raw, _, balance in entries]
        sums = list(self.balances)
        self.levels: list[tuple[list[bytes], list[int]]] = [(hashes, sums)]
        if not hashes:
            self.levels = [([empty], [0])]
        while len(self.levels[-1][0]) > 1:
            hashes, sums = self.levels[-1]
            if len(hashes) % 2:
                hashes, sums = [*hashes, empty], [*sums, 0]
                self.levels[-1] = (hashes, sums)
            parent_hashes = [
                node_hash(hashes[i], sums[i], hashes[i + 1], sums[i + 1]) for i in range(0, len(hashes), 2)
            ]
            parent_sums = [sums[i] + sums[i + 1] for i in range(0, len(sums), 2)]
            self.levels.append((parent_hashes, parent_sums))

    @property
    def leaf_count(self) -> int:
        return len(self.addresses)

    @property
    def root_hash(self) -> str:
        return self.levels[-1][0][0].hex()

    @property
    def total_units(self) -> int:
        return self.levels[-1][1][0]

    def index_of(self, address: str) -> int | None:
        return self._index.get(address_bytes(address))

    def proof(self, address: str) -> InclusionProof:
        """The inclusion proof of `address`; KeyError when it holds nothing at this block."""
        index = self.index_of(address)
        if index is None:
            raise KeyError(f"{address} holds no tokens at block {self.block}")
        path: list[PathStep] = []
        position = index
        for level in range(len(self.levels) - 1):
            hashes, sums = self.levels[level]
            sibling = position ^ 1
            path.append(PathStep(hashes[sibling], sums[sibling]))
            position >>= 1
        return InclusionProof(
            chain_id=self.chain_id,
            token=self.token,
            block=self.block,
            root_hash=self.root_hash,
            total_units=self.total_units,
            leaf_count=self.leaf_count,
            leaf_index=index,
            address=self.addresses[index],
            balance_units=self.balances[index],
            path=tuple(path),
        )


def build_tree(balances: Mapping[str, int], *, chain_id: int, token: str, block: int) -> SumTree:
    """Merkle sum tree over `balances` (address → token units, zero balances left out)."""
    return SumTree(balances, chain_id=chain_id, token=token, block=block)


def root_from_path(
    context: bytes, address: bytes, balance_units: int, leaf_index: int, path: Sequence[PathStep]
) -> tuple[bytes, int]:
    """Recompute (root hash, root sum) from a leaf and its path; ProofOfLiabilitiesError if a sum
    leaves the uint256 range (no genuine tree has one, and it cannot be hashed)."""
    current_hash, current_sum = leaf_hash(context, address, balance_units), balance_units
    position = leaf_index
    for level, step in enumerate(path):
        if current_sum + step.sum_units > MAX_UINT256:
            raise ProofOfLiabilitiesError(f"path[{level}].sum_units takes the total past 2**256 - 1")
        if position % 2 == 0:
            current_hash = node_hash(current_hash, current_sum, step.hash, step.sum_units)
        else:
            current_hash = node_hash(step.hash, step.sum_units, current_hash, current_sum)
        current_sum += step.sum_units
        position //= 2
    return current_hash, current_sum
