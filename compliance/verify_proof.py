"""Check a proof of liabilities with nothing but the proof and the published root (R54).

    python -m compliance.verify_proof proof.json (--root HEX [--total UNITS] | --report report.json)

`proof.json` is what `GET /v1/attestations/{id}/proofs/{address}` returns. The published root is
required: the root (and total) printed in the attestation report or on the transparency page, or
the report's JSON itself (GET /v1/attestations/{id}/report.json). A proof checked only against
itself proves nothing: anyone can build a tree of made-up balances whose paths add up.
With `--report` the proof's `leaf_count` must also equal the report's holder count: the root does
not commit to the leaf count in a way one path can show, so only the published count pins it.
Exit status: 0 the balance is included, 1 verification failed, 2 the input could not be read (or
--root/--total is not a root hash / a whole number of units).

Uses only the standard library: copy this file and compliance/proof_of_liabilities.py anywhere.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from compliance.proof_of_liabilities import (
    MAX_UINT256,
    PROOF_FORMAT,
    SCHEME,
    PathStep,
    address_bytes,
    context_hash,
    empty_hash,
    root_from_path,
    tree_depth,
)

# ProofVerification.reason values (stable: tools key on them).
MALFORMED = "malformed proof"
ROOT_MISMATCH = "root mismatch"
TOTAL_MISMATCH = "total mismatch"
NOT_PUBLISHED_ROOT = "not the published root"
NOT_PUBLISHED_TOTAL = "not the published total"
NOT_PUBLISHED_LEAF_COUNT = "not the published holder count"

# Printed when neither --root nor --report is given: the proof alone would verify a made-up tree.
NO_PUBLISHED_ROOT = (
    "no published root: pass the root published in the attestation report, --report report.json "
    "(GET /v1/attestations/{id}/report.json) or --root HEX (its proof_of_liabilities.root_hash, also "
    "on /transparency); a proof checked only against itself proves nothing"
)

_HASH_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_UINT_RE = re.compile(r"0|[1-9][0-9]{0,77}", re.ASCII)


@dataclass(frozen=True)
class ProofVerification:
    ok: bool
    reason: str | None = None
    detail: str | None = None
    address: str | None = None
    balance_units: int | None = None
    block: int | None = None
    root_hash: str | None = None
    total_units: int | None = None


@dataclass(frozen=True)
class PublishedFacts:
    """What an attestation report publishes about its proof of liabilities (R54)."""

    root_hash: str
    total_units: int
    holders: int | None  # None: the report does not say (older or hand-made reports)


class _Malformed(ValueError):
    pass


def _int(value: object, name: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_UINT256:
        raise _Malformed(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _units(value: object, name: str) -> int:
    """Amounts travel as integer strings ("1500000"), so no language rounds them."""
    if not isinstance(value, str) or not _UINT_RE.fullmatch(value) or int(value) > MAX_UINT256:
        raise _Malformed(f"{name} must be a string of digits (token units), got {value!r}")
    return int(value)


def _hash(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not _HASH_RE.fullmatch(value.lower()):
        raise _Malformed(f"{name} must be 64 hex digits, got {value!r}")
    return bytes.fromhex(value)


def _address(value: object, name: str) -> str:
    try:
        address_bytes(value)  # type: ignore[arg-type]  # checked inside
    except ValueError:
        raise _Malformed(f"{name} must be an EVM address, got {value!r}") from None
    return str(value)


def _path(value: object, leaf_count: int, leaf_index: int, context: bytes, balance: int) -> list[PathStep]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _Malformed("path must be a list of {hash, sum_units} steps")
    depth = tree_depth(leaf_count)
    if len(value) != depth:
        raise _Malformed(f"path has {len(value)} steps but a tree of {leaf_count} leaves needs {depth}")
    steps: list[PathStep] = []
    level_size, position, empty = leaf_count, leaf_index, empty_hash(context)
    running_sum = balance
    for level, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            raise _Malformed(f"path[{level}] must be an object with hash and sum_units")
        step = PathStep(
            _hash(raw.get("hash"), f"path[{level}].hash"), _units(raw.get("sum_units"), f"path[{level}].sum_units")
        )
        # Past the end of an odd level the sibling is the fixed empty node: the tree has one shape.
        if position ^ 1 >= level_size and (step.hash != empty or step.sum_units != 0):
            raise _Malformed(f"path[{level}] must be the empty padding node at this position")
        # Every node's sum is at most the root's, which is a uint256: a larger partial sum cannot be
        # hashed (32 bytes) and no genuine tree has one.
        running_sum += step.sum_units
        if running_sum > MAX_UINT256:
            raise _Malformed(
                f"path[{level}].sum_units is out of range: with the balance and the steps below it the "
                "total overflows 2**256 - 1"
            )
        steps.append(step)
        level_size, position = (level_size + 1) // 2, position // 2
    return steps


def verify_proof(
    proof: Mapping[str, object],
    *,
    published_root: str | None = None,
    published_total_units: int | None = None,
    published_leaf_count: int | None = None,
) -> ProofVerification:
    """Recompute the root from the leaf and its path; compare with the proof's and the published root,
    total and holder count (the report's `proof_of_liabilities.holders`)."""
    try:
        if not isinstance(proof, Mapping):
            raise _Malformed("a proof is a JSON object")
        if proof.get("format") != PROOF_FORMAT or proof.get("scheme", SCHEME) != SCHEME:
            raise _Malformed(f"format must be {PROOF_FORMAT!r} (scheme {SCHEME!r}), got {proof.get('format')!r}")
        chain_id = _int(proof.get("chain_id"), "chain_id")
        token = _address(proof.get("token"), "token")
        block = _int(proof.get("block"), "block")
        root = _hash(proof.get("root_hash"), "root_hash")
        total = _units(proof.get("total_units"), "total_units")
        leaf_count = _int(proof.get("leaf_count"), "leaf_count")
        leaf_index = _int(proof.get("leaf_index"), "leaf_index")
        if not leaf_index < leaf_count:
            raise _Malformed(f"leaf_index {leaf_index} is outside a tree of {leaf_count} leaves")
        address = _address(proof.get("address"), "address")
        balance = _units(proof.get("balance_units"), "balance_units")
        if balance == 0:
            raise _Malformed("balance_units must be positive: zero balances are not in the tree")
        context = context_hash(chain_id, token, block)
        path = _path(proof.get("path"), leaf_count, leaf_index, context, balance)
    except _Malformed as exc:
        return ProofVerification(False, MALFORMED, str(exc))

    def result(reason: str | None = None, detail: str | None = None) -> ProofVerification:
        return ProofVerification(
            reason is None,
            reason,
            detail,
            address=address,
            balance_units=balance,
            block=block,
            root_hash=root.hex(),
            total_units=total,
        )

    computed_root, computed_total = root_from_path(context, address_bytes(address), balance, leaf_index, path)
    if computed_root != root:
        return result(
            ROOT_MISMATCH,
            f"the leaf and path give root {computed_root.hex()}, not the proof's "
            f"{root.hex()}: the address, balance, index or a path step was changed",
        )
    if computed_total != total:
        return result(TOTAL_MISMATCH, f"the path adds up to {computed_total} units, not the proof's total {total}")
    if published_root is not None and published_root.lower().removeprefix("0x") != root.hex():
        return result(
            NOT_PUBLISHED_ROOT, f"the proof is for root {root.hex()} but the published root is {published_root}"
        )
    if published_total_units is not None and published_total_units != total:
        return result(
            NOT_PUBLISHED_TOTAL,
            f"the proof's total is {total} units but the published total is {published_total_units}",
        )
    if published_leaf_count is not None and published_leaf_count != leaf_count:
        return result(
            NOT_PUBLISHED_LEAF_COUNT,
            f"the proof's leaf_count is {leaf_count} but the report counts {published_leaf_count} holders",
        )
    return result()


def published_facts_of_report(report: Mapping[str, object]) -> PublishedFacts:
    """Root hash, total units and holder count from an attestation report's proof_of_liabilities."""
    if not isinstance(report, Mapping):
        raise ValueError("not an attestation report: expected a JSON object")
    section = report.get("proof_of_liabilities")
    if not isinstance(section, Mapping):
        raise ValueError("the report has no proof_of_liabilities section")
    root, total = section.get("root_hash"), section.get("total_units")
    if not isinstance(root, str) or not isinstance(total, str) or not _UINT_RE.fullmatch(total):
        raise ValueError("the report's proof_of_liabilities section lacks root_hash or total_units")
    holders = section.get("holders")
    if holders is not None and (type(holders) is not int or holders < 0):
        raise ValueError(f"the report's proof_of_liabilities.holders must be a count, got {holders!r}")
    return PublishedFacts(root, int(total), holders)


def _format_units(units: int) -> str:
    whole, frac = divmod(units, 10**6)
    return f"{whole:,}.{frac:06d}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compliance.verify_proof",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("proof", type=Path, help="the proof JSON file")
    parser.add_argument("--root", help="the published Merkle sum root (64 hex digits)")
    parser.add_argument("--total", help="the published total, in token units")
    parser.add_argument("--report", type=Path, help="the attestation report JSON that published the root")
    args = parser.parse_args(argv)
    if args.root is None and args.report is None:
        print(NO_PUBLISHED_ROOT, file=sys.stderr)
        return 2
    if args.report is not None and (args.root is not None or args.total is not None):
        print("give either --report or --root/--total, not both", file=sys.stderr)
        return 2
    if args.root is not None and not _HASH_RE.fullmatch(args.root.lower().removeprefix("0x")):
        print(f"--root must be the 64 hex digits of the published root_hash, not {args.root!r}", file=sys.stderr)
        return 2
    if args.total is not None and not (args.total.isascii() and args.total.isdigit()):
        print(
            f"--total must be the published total_units, a whole number of token units (6 decimals: "
            f"2,500 tCNH is 2500000000), not {args.total!r}",
            file=sys.stderr,
        )
        return 2
    try:
        proof = json.loads(args.proof.read_text(encoding="utf-8"))
        root, total = args.root, int(args.total) if args.total is not None else None
        holders = None
        if args.report is not None:
            published = published_facts_of_report(json.loads(args.report.read_text(encoding="utf-8")))
            root, total, holders = published.root_hash, published.total_units, published.holders
    except (OSError, ValueError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    result = verify_proof(proof, published_root=root, published_total_units=total, published_leaf_count=holders)
    if not result.ok:
        print(f"FAIL ({result.reason}): {result.detail}")
        return 1
    assert result.balance_units is not None and result.total_units is not None
    print(
        f"OK: {result.address} holds {_format_units(result.balance_units)} tCNH at block {result.block}, "
        f"counted in root {result.root_hash} (total {_format_units(result.total_units)} tCNH)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
