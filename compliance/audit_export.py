"""Verify an audit-log export offline, from the file alone (R50).

    python -m compliance.audit_export audit-log.jsonl (--head HASH | --anchor SEQ:HASH | --no-head)
        [--json] [--workers N]

The file is what `GET /v1/audit-log/export` returns: one record per line. The verifier recomputes
every record's hash and every link, and on the first problem names the record (seq and line) and
why, with the reasons and wording of `compliance.audit_chain.verify_chain`. `--anchor` also checks
that the record at SEQ has HASH, e.g. the audit anchor printed in an attestation report, so the log
is tied to the report; `--head` checks the last record's hash against the head the service
published (GET /v1/audit-log/verify). Exit status: 0 the chain verifies, 1 it does not, 2 the file
cannot be read or no trusted head was given.

A chain checked against nothing but itself cannot show that records were cut from its end: a file
with its last records deleted is a shorter chain that verifies. So one of --head or --anchor is
required; `--no-head` checks the file anyway, with a warning that truncation of the tail goes
unseen. An empty file without a head or anchor is refused: it says nothing about any log.

`--workers N` splits the file into N byte ranges verified in parallel processes (worth it for large
files on an otherwise idle machine); each range checks its own records and links, and the ranges
are then joined (the first record of a range must follow the last of the one before), so the
verdict is the same as reading the file front to back.

An export whose lines are the canonical JSON of each record (`compliance.audit_chain.canonical_json`)
verifies about twice as fast: each line's bytes, less its "hash" member, are then exactly the bytes
that were hashed (see `_Hasher`). Any file verifies; this only changes the speed. One difference
remains, for a record someone re-hashed over non-canonical bytes: verify_chain names that record
(hash mismatch), this verifier the next one (broken link). If it is the last record, only the
published head (`--head`) catches it, as it is for any re-hashed last record: a forger who re-hashes
canonically passes verify_chain too. Always compare the head with the one the service published.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from compliance.audit_chain import (
    BROKEN_LINK,
    GENESIS_HASH,
    HASH_MISMATCH,
    MALFORMED_RECORD,
    SEQUENCE_GAP,
    ChainVerification,
)

ANCHOR_MISMATCH = "anchor mismatch"
HEAD_MISMATCH = "head mismatch"
EMPTY_EXPORT = "empty export"

# Printed when no trusted head is given (R50): the chain alone cannot show its tail was cut off.
NO_TRUSTED_HEAD = (
    "no trusted head: without --head (head_hash from GET /v1/audit-log/verify, or the head "
    "`cnh audit export` prints) or --anchor SEQ:HASH (an attestation report's audit anchor), "
    "records deleted from the end of the file cannot be detected; pass --no-head to check the "
    "file anyway"
)
NO_HEAD_WARNING = (
    "WARNING: checked without a trusted head (--no-head): records deleted from the end of the "
    "file would NOT be detected; compare the head hash with GET /v1/audit-log/verify"
)

# The canonical encoder of compliance.audit_chain (sorted keys, no whitespace, UTF-8, no NaN).
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")).encode


class _DuplicateKey(ValueError):
    """A JSON object names one key twice. Parsers disagree on which value wins (Python's json keeps
    the last, others the first), so a reader could be shown a value other than the hashed one."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    record = dict(pairs)
    if len(record) != len(pairs):
        repeated = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
        raise _DuplicateKey(
            f"line has a duplicated key {repeated[0]!r}: JSON readers disagree on which of its values counts"
        )
    return record


class _Float:
    """What a JSON number with a fraction or exponent parses to: it cannot be encoded again, so the
    record is reported as malformed, as verify_chain does for floats."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True)
class _First:
    """The first record of a range: its seq and link are checked when the ranges are joined."""

    seq: object
    prev_hash: object
    line: int  # within the range, from 1


@dataclass(frozen=True)
class _Failure:
    index: int  # records of the range before the bad one
    line: int  # within the range, from 1
    reason: str
    detail: str
    seq: int | None  # the seq the range expected there (None: the range's first record)


@dataclass(frozen=True)
class _Range:
    lines: int
    first: _First | None
    records: int  # records hashed and linked correctly (the first one's link not yet checked)
    last_seq: int | None
    last_hash: str | None
    failure: _Failure | None
    anchor_hash: object


class _Hasher:
    """Parses a line and finds its record's hash, the fast way when the file allows it.

    Slow way, always correct: parse, drop "hash", encode canonically, SHA-256 — as verify_chain.
    Fast way, for exports written as canonical JSON: the line minus its `,"hash":"…"` member is
    then exactly the bytes that were hashed, so one SHA-256 over them checks the record without
    encoding it again. A match means those bytes are what the hash committed to (SHA-256 is
    collision resistant); anything else falls back to the slow way, which gives the verdict. The
    first record that passes only the slow way shows the file is not canonical, and the fast way is
    not tried again. Records with floats always take the slow way, which refuses them.
    """

    def __init__(self) -> None:
        self.floats = 0
        self.fast = True
        self.decode = json.JSONDecoder(
            parse_float=self._float, parse_constant=self._float, object_pairs_hook=_unique_keys
        ).decode

    def _float(self, text: str) -> _Float:
        self.floats += 1
        return _Float(text)

    def parse(self, raw: bytes) -> object:
        self.floats = 0
        return self.decode(raw.decode("utf-8"))

    def hash_of(self, raw: bytes, record: dict[str, object], seq: object) -> tuple[str | None, object, str | None]:
        """(computed hash, stored hash, why it cannot be hashed)."""
        stored = record.pop("hash", None)
        if self.fast and not self.floats and type(stored) is str:
            line = raw.rstrip(b"\r\n")
            member = b',"hash":"' + stored.encode("ascii", "replace") + b'"'
            at = line.rfind(member)
            if at > 0 and hashlib.sha256(line[:at] + line[at + len(member) :]).hexdigest() == stored:
                return stored, stored, None
        try:
            computed = hashlib.sha256(_encode(record).encode("utf-8")).hexdigest()
        except (TypeError, ValueError) as exc:
            text = str(exc)
            if "_Float" in text:
                text = (
                    "a float is not allowed in an audit record: money is an int in minor units "
                    "(fen or token units); send other fractions as decimal strings"
                )
            return None, stored, f"seq {seq} cannot be hashed: {text}"
        if computed == stored:
            self.fast = False  # a good record that is not canonical JSON: this file is not
        return computed, stored, None


def _verify_range(path: str, start: int, end: int, anchor_seq: int | None) -> _Range:
    """Verify the records in bytes [start, end) of the file; lines never straddle a boundary."""
    hasher = _Hasher()
    lines = records = 0
    first: _First | None = None
    expected: int | None = None
    prev_hash: str | None = None
    last_hash: str | None = None
    anchor_hash: object = None
    failure: _Failure | None = None
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while position < end:
            raw = handle.readline()
            if not raw:
                break
            position += len(raw)
            lines += 1
            if not raw.strip():
                continue
            try:
                record = hasher.parse(raw)
            except _DuplicateKey as exc:
                failure = _Failure(records, lines, MALFORMED_RECORD, str(exc), expected)
                break
            except ValueError as exc:
                failure = _Failure(records, lines, MALFORMED_RECORD, f"line is not valid JSON: {exc}", expected)
                break
            if not isinstance(record, dict):
                failure = _Failure(records, lines, MALFORMED_RECORD, "line is not a JSON object", expected)
                break
            seq = record.get("seq")
            if first is None:
                first = _First(seq, record.get("prev_hash"), lines)
                if type(seq) is not int:
                    failure = _Failure(0, lines, SEQUENCE_GAP, f"found {seq!r}", None)
                    break
            elif type(seq) is not int or seq != expected:
                failure = _Failure(records, lines, SEQUENCE_GAP, f"expected seq {expected}, found {seq!r}", expected)
                break
            computed, stored, unhashable = hasher.hash_of(raw, record, seq)
            if anchor_seq is not None and seq == anchor_seq:
                anchor_hash = stored
            if unhashable is not None:
                failure = _Failure(records, lines, MALFORMED_RECORD, unhashable, expected)
                break
            if stored != computed:
                failure = _Failure(
                    records, lines, HASH_MISMATCH, f"seq {seq}: stored hash does not match its content", expected
                )
                break
            if records and record.get("prev_hash") != prev_hash:
                failure = _Failure(
                    records,
                    lines,
                    BROKEN_LINK,
                    f"seq {seq}: prev_hash does not match the previous record's hash",
                    expected,
                )
                break
            prev_hash = last_hash = computed
            expected = seq + 1
            records += 1
    return _Range(lines, first, records, None if expected is None else expected - 1, last_hash, failure, anchor_hash)


def _ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges of about equal size, each ending just after a newline."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for i in range(1, parts):
            handle.seek(max(cuts[-1], size * i // parts))
            handle.readline()
            cuts.append(min(handle.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a] or [(0, 0)]


def _join(ranges: Sequence[_Range]) -> tuple[ChainVerification, int]:
    """Read the ranges in order as one chain; returns the verdict and the line it stopped at."""
    expected, prev_hash, entries, line_offset = 1, GENESIS_HASH, 0, 0

    def fail(seq: int, reason: str, detail: str, line: int) -> tuple[ChainVerification, int]:
        absolute = line_offset + line
        return ChainVerification(False, entries, prev_hash, seq, reason, f"line {absolute}: {detail}"), absolute

    for part in ranges:
        if part.first is not None:
            first = part.first
            if type(first.seq) is not int or first.seq != expected:
                return fail(expected, SEQUENCE_GAP, f"expected seq {expected}, found {first.seq!r}", first.line)
        failure = part.failure
        if failure is not None and failure.index == 0:  # the range's first record itself is bad
            return fail(expected, failure.reason, failure.detail, failure.line)
        if part.first is not None:
            if part.first.prev_hash != prev_hash:
                return fail(
                    expected,
                    BROKEN_LINK,
                    f"seq {expected}: prev_hash does not match the previous record's hash",
                    part.first.line,
                )
        if failure is not None:
            entries += failure.index
            assert failure.seq is not None and part.last_hash is not None
            expected, prev_hash = failure.seq, part.last_hash
            return fail(failure.seq, failure.reason, failure.detail, failure.line)
        if part.records:
            assert part.last_seq is not None and part.last_hash is not None
            entries += part.records
            expected, prev_hash = part.last_seq + 1, part.last_hash
        line_offset += part.lines
    return ChainVerification(True, entries, prev_hash), line_offset


def verify_export(
    path: str | Path,
    *,
    anchor: tuple[int, str] | None = None,
    head_hash: str | None = None,
    workers: int | None = None,
) -> ChainVerification:
    """Recompute the hash chain of a JSONL export; on failure `first_bad_seq` and `detail` name the
    first bad record (its seq, and the line it is on)."""
    path = Path(path)
    workers = 1 if workers is None else max(1, workers)
    anchor_seq = anchor[0] if anchor else None
    spans = _ranges(path, workers)
    if len(spans) == 1:
        ranges = [_verify_range(str(path), *spans[0], anchor_seq)]
    else:
        with ProcessPoolExecutor(len(spans), mp_context=get_context("spawn")) as pool:
            ranges = list(
                pool.map(
                    _verify_range,
                    [str(path)] * len(spans),
                    [s for s, _ in spans],
                    [e for _, e in spans],
                    [anchor_seq] * len(spans),
                )
            )
    result, _ = _join(ranges)
    if not result.ok:
        return result
    if result.entries == 0 and anchor is None and head_hash is None:
        # R50: with nothing to compare against, an empty file is every log cut down to nothing.
        return ChainVerification(
            False,
            0,
            result.head_hash,
            1,
            EMPTY_EXPORT,
            "the file has no records; with no published head (--head) or anchor (--anchor) to compare "
            "against it proves nothing about the log",
        )
    if anchor is not None:
        seen = next((part.anchor_hash for part in ranges if part.anchor_hash is not None), None)
        if seen != anchor[1]:
            found = "is not in the file" if seen is None else f"has hash {seen}"
            return ChainVerification(
                False,
                result.entries,
                result.head_hash,
                anchor[0],
                ANCHOR_MISMATCH,
                f"record seq {anchor[0]} {found}, expected {anchor[1]}",
            )
    if head_hash is not None and result.head_hash != head_hash:
        return ChainVerification(
            False,
            result.entries,
            result.head_hash,
            result.entries,
            HEAD_MISMATCH,
            f"the last record's hash is {result.head_hash}, expected the published {head_hash}",
        )
    return result


def _hash(text: str) -> str:
    """A SHA-256 hash as the service publishes it (64 hex digits); capitals are the same hash."""
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text.lower()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256 hash: 64 hex digits, no 0x")
    return text.lower()


def _anchor(text: str) -> tuple[int, str]:
    seq, _, hash_hex = text.partition(":")
    if not seq.isdigit():
        raise argparse.ArgumentTypeError("expected SEQ:HASH, e.g. 42:9f86d08...")
    return int(seq), _hash(hash_hex)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compliance.audit_export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the JSON-lines export")
    parser.add_argument("--anchor", type=_anchor, help="SEQ:HASH that must be in the log (from a report)")
    parser.add_argument("--head", type=_hash, help="the published head hash the last record must have")
    parser.add_argument(
        "--no-head",
        action="store_true",
        help="check without --head/--anchor: truncation of the file's tail then goes undetected",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--workers", type=int, default=1, help="processes to verify with in parallel (default 1)")
    args = parser.parse_args(argv)
    trusted = args.head is not None or args.anchor is not None
    if args.no_head and trusted:
        print("--no-head contradicts --head/--anchor: give one or the other", file=sys.stderr)
        return 2
    if not trusted and not args.no_head:
        print(NO_TRUSTED_HEAD, file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"cannot read {args.file}: no such file", file=sys.stderr)
        return 2
    try:
        result = verify_export(args.file, anchor=args.anchor, head_hash=args.head, workers=args.workers)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    elif result.reason == EMPTY_EXPORT:
        print(f"FAIL: {args.file}: {result.detail}")
    elif result.ok:
        print(f"OK: {result.entries} records, head hash {result.head_hash}")
    else:
        print(
            f"FAIL at seq {result.first_bad_seq} ({result.reason}): {result.detail}; "
            f"{result.entries} records verified before it"
        )
    if args.no_head:  # last, so it is what the reader sees: the verdict above says nothing about the tail
        print(NO_HEAD_WARNING, file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
