"""Append-only, hash-chained audit records (R50), verifiable by anyone with the auditor role.

Each record carries "seq" (1, 2, 3, ...), "prev_hash" (the previous record's "hash"; GENESIS_HASH
for the first) and "hash" = SHA-256 of the canonical JSON of the record without "hash". Changing,
removing, inserting or reordering any record breaks the chain at that point.

Canonical JSON is what makes the hash reproducible in any language: sorted keys, no spaces, UTF-8,
and only JSON's own types. Floats are refused outright: money is an int in minor units, and a
float's text form is not stable across languages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS_HASH = "0" * 64

# ChainVerification.reason values (stable: tools key on them).
HASH_MISMATCH = "hash mismatch"
BROKEN_LINK = "broken link"
SEQUENCE_GAP = "sequence gap"
MALFORMED_RECORD = "malformed record"

_HASH_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
# One encoder, built once: json.dumps(...) with options builds a new encoder on every call.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")).encode
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class ChainVerification:
    """Result of verify_chain. On failure `entries` counts the records verified before the break
    and `head_hash` is the hash of the last good one."""

    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    detail: str | None = None


def _reject(value: object) -> None:
    if type(value) is float:
        raise TypeError(
            f"float {value!r} is not allowed in an audit record: money is an int in minor units "
            "(fen or token units); send other fractions as decimal strings"
        )
    raise TypeError(f"{type(value).__name__} is not a JSON type (use str, int, bool, None, dict, list)")


def _check_json_types(value: object) -> None:
    """Refuse anything but str/int/bool/None/dict(str keys)/list/tuple, at any depth."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"JSON object keys must be str, got {type(key).__name__} {key!r}")
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            _check_json_types(item)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_json_types(item)
        return
    _reject(value)


def canonical_json(obj: object) -> bytes:
    """Deterministic UTF-8 JSON bytes: sorted keys, no whitespace; TypeError on floats and non-JSON."""
    _check_json_types(obj)
    return _encode(obj).encode("utf-8")


def record_hash(record: Mapping[str, object]) -> str:
    """SHA-256 hex of the canonical JSON of `record` without its "hash" key."""
    body = dict(record)
    body.pop("hash", None)
    return _sha256(canonical_json(body)).hexdigest()


def make_record(prev_hash: str, seq: int, **fields: object) -> dict[str, object]:
    """A new chain record: `fields` plus "seq", "prev_hash" and the computed "hash"."""
    if not isinstance(prev_hash, str) or not _HASH_RE.fullmatch(prev_hash):
        raise ValueError("prev_hash must be 64 lower-case hex characters (GENESIS_HASH for the first record)")
    if type(seq) is not int or seq < 1:
        raise ValueError(f"seq must be an int >= 1, got {seq!r}")
    if "hash" in fields:
        raise ValueError("'hash' is computed by make_record; do not pass it")
    record: dict[str, object] = dict(fields)
    record["seq"] = seq
    record["prev_hash"] = prev_hash
    record["hash"] = record_hash(record)
    return record


def verify_chain(
    records: Iterable[Mapping[str, object]],
    *,
    start_seq: int = 1,
    start_prev_hash: str = GENESIS_HASH,
) -> ChainVerification:
    """Check a chain end to end in one pass, holding one record at a time (R50).

    Stops at the first problem and names it: `first_bad_seq` is the position where the chain
    breaks (for a gap, the seq that was expected but missing). `start_seq`/`start_prev_hash`
    resume from a checkpoint, so a long log can be verified in pages.
    """
    expected_seq = start_seq
    prev_hash = start_prev_hash
    entries = 0
    reason = detail = None
    # Hot path for millions of rows: record_hash/canonical_json are inlined, locals only.
    check_types, encode, sha256 = _check_json_types, _encode, _sha256
    for record in records:
        seq = record.get("seq")
        if type(seq) is not int or seq != expected_seq:
            reason, detail = SEQUENCE_GAP, f"expected seq {expected_seq}, found {seq!r}"
            break
        body = dict(record)
        stored_hash = body.pop("hash", None)
        try:
            check_types(body)
            computed = sha256(encode(body).encode("utf-8")).hexdigest()
        except (TypeError, ValueError) as exc:
            reason, detail = MALFORMED_RECORD, f"seq {seq} cannot be hashed: {exc}"
            break
        if stored_hash != computed:
            reason, detail = HASH_MISMATCH, f"seq {seq}: stored hash does not match its content"
            break
        if body.get("prev_hash") != prev_hash:
            reason, detail = BROKEN_LINK, f"seq {seq}: prev_hash does not match the previous record's hash"
            break
        prev_hash = computed
        expected_seq += 1
        entries += 1
    if reason is not None:
        return ChainVerification(False, entries, prev_hash, expected_seq, reason, detail)
    return ChainVerification(True, entries, prev_hash)
