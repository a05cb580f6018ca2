"""What the sync and async clients share and that does no I/O: the retry policy, amounts, and the
two JSON-RPC reads the permit helper needs."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from cnh_sdk.errors import ChainRpcError, UnexpectedResponse

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
UNITS_PER_FEN = 10_000  # 6 token decimals, 2 fiat decimals
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Attestation refusals that pass by themselves: the service has not caught up with the block yet.
CATCHING_UP = frozenset({"block_not_indexed", "ledger_catching_up"})

Amount = str | Decimal | int
"""A CNH amount: a decimal string ("1250.50"), a Decimal or a whole int; never a float."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of 503 answers (the service changed nothing: database or chain unavailable) and of
    requests that never reached it. Exponential backoff with jitter; a `Retry-After` header wins
    (capped at `max_retry_after`)."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None, *, now: datetime | None = None) -> float:
        """Seconds to wait before retry number `attempt + 1` (attempt counts from 0)."""
        told = parse_retry_after(retry_after, now=now)
        if told is not None:
            return float(min(told, self.max_retry_after))
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        # Jitter: clients that failed together spread out.
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds (RFC 9110: delay-seconds or an HTTP-date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def checked_api_key(api_key: str | None) -> str | None:
    """The key as it goes into `Authorization`. A character no issued key has (a space, a line break,
    a curly quote from a copy) is refused here rather than failing as an unreachable service."""
    if api_key is not None and not all("!" <= char <= "~" for char in api_key):
        raise ValueError(
            "the API key has a character no issued key has (a space, a line break or a non-ASCII "
            "character); copy the key again exactly as it was shown"
        )
    return api_key


def path_segment(value: str) -> str:
    """An id or address as exactly one path segment: `/`, `?`, `#` and dot segments are escaped, so
    a value such as `../approvals/apr_1` cannot send the request to another endpoint."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


_FEN = Decimal("0.01")


def amount_str(value: Amount) -> str:
    """The wire form of an amount. Floats are refused: 0.1 + 0.2 is not money."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"amounts are decimal strings such as '1250.50' or Decimal, never {type(value).__name__}")
    if isinstance(value, Decimal):
        # Decimal("2.010") and Decimal("1E+2") are 2.01 and 100: sent as "2.01" and "100.00", not as
        # a third decimal or an exponent the service refuses. More decimals than that go as they are,
        # for the service to refuse by name.
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and not -2 <= exponent <= 0 and value == value.quantize(_FEN):
            value = value.quantize(_FEN)
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"amounts are decimal strings such as '1250.50' or Decimal, not {type(value).__name__}")


def amount_units(value: Amount) -> int:
    """Token units (6 decimals) of a CNH amount with at most 2 decimals: "1.25" -> 1_250_000."""
    text = amount_str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal amount such as '1250.50'") from None
    fen = number * 100
    if not number.is_finite() or number <= 0 or fen != fen.to_integral_value():
        raise ValueError(f"{text!r} must be a positive amount with at most 2 decimal places")
    return int(fen) * UNITS_PER_FEN


# --- JSON-RPC reads (no web3 needed) ----------------------------------------------------------

NONCES_SELECTOR = "0x7ecebe00"  # nonces(address)
BALANCE_OF_SELECTOR = "0x70a08231"  # balanceOf(address)


def address_arg(address: str) -> str:
    raw = address.lower().removeprefix("0x")
    if len(raw) != 40:
        raise ValueError(f"{address!r} is not a 20-byte hex address")
    return raw.rjust(64, "0")


def rpc_body(method: str, params: list[object]) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def rpc_result(reply: object, method: str) -> object:
    if not isinstance(reply, dict):
        raise ChainRpcError(f"{method}: the JSON-RPC endpoint sent no JSON object")
    if reply.get("error"):
        raise ChainRpcError(f"{method} failed: {reply['error']}")
    return reply.get("result")


def hex_int(value: object, method: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainRpcError(f"{method}: expected a hex quantity, got {value!r}")
    return int(value, 16) if value != "0x" else 0


def json_of(response: httpx.Response) -> Any:
    """The body of a success answer as JSON, or UnexpectedResponse naming what came instead."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} answered HTTP {response.status_code} with "
            f"{kind}, not JSON; is the base URL the CNH service's?"
        ) from None


def parsed(shape: Any, response: httpx.Response) -> Any:
    """The body validated as `shape` (a model or a type such as list[Model]), or UnexpectedResponse."""
    data = json_of(response)
    try:
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            return shape.model_validate(data)
        return TypeAdapter(shape).validate_python(data)
    except ValidationError as exc:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} answered HTTP {response.status_code} with JSON "
            f"that is not a {getattr(shape, '__name__', shape)} ({exc.error_count()} problems, first: "
            f"{exc.errors()[0]['msg']}); is the base URL the CNH service's, and the SDK its version?"
        ) from None


class ExportLines:
    """Cuts an audit export's bytes into its records, at "\\n" only. Canonical JSON writes U+2028,
    U+0085 and the other line breaks of Unicode as they are, inside strings, where a text line reader
    (httpx's `iter_lines`, `str.splitlines`) would cut the record in two."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *lines, self._rest = (self._rest + chunk).split(b"\n")
        return [line.rstrip(b"\r") for line in lines if line.rstrip(b"\r")]

    def flush(self) -> list[bytes]:
        rest, self._rest = self._rest.rstrip(b"\r"), b""
        return [rest] if rest else []


def check_export_complete(headers: httpx.Headers, count: int, last_line: bytes) -> None:
    """An audit export ends at the head the service announced (`X-Audit-Head-Seq` and
    `X-Audit-Head-Hash`), or UnexpectedResponse. Services that announce none are taken as they come."""
    seq, head_hash = headers.get("x-audit-head-seq"), headers.get("x-audit-head-hash")
    if seq is None or head_hash is None:
        return
    if not (seq.isascii() and seq.isdigit()):
        raise UnexpectedResponse(f"the audit export announced head {seq!r}, not a sequence number; nothing was saved")
    try:
        last = json.loads(last_line) if last_line else {}
    except ValueError:
        last = {}
    got_seq, got_hash = (last.get("seq"), last.get("hash")) if isinstance(last, dict) else (None, None)
    if int(seq) == 0 and count == 0:
        return
    if got_seq != int(seq) or got_hash != head_hash or count != int(seq):
        raise UnexpectedResponse(
            f"the audit export ended at record {got_seq} ({count} records), not at the announced head "
            f"{seq} ({head_hash}); nothing was saved, export again"
        )
