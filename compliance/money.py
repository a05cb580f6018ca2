"""Money at the edge: parse and format CNH amounts as integers.

Fiat is counted in fen (CNH has 2 decimals); the token in its smallest unit (6 decimals, so
1 fen = 10,000 units). Amounts cross the API as decimal strings ("1250.50") and become int here,
once. Nothing in this module ever produces or accepts a float.
"""

from __future__ import annotations

import re

from compliance._validate import require_int as _require_int

FEN_PER_CNH = 100
TOKEN_DECIMALS = 6
UNITS_PER_FEN = 10_000
MAX_AMOUNT_FEN = 10**17  # one amount in a request
# Any balance the ledger keeps: stored in BIGINT columns (at most 2**63 - 1, about 9.2e18), and kept
# far enough below that a sum of two (reserves plus an asset, say) never overflows either.
MAX_BALANCE_FEN = 10**18
MAX_INTEGER_DIGITS = 20

# Strict ASCII: "[0-9]" never matches Arabic-Indic or fullwidth digits, unlike "\d" on str.
_AMOUNT_RE = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?", re.ASCII)
# Longest string that could still be valid: 20 integer digits, a dot, 2 decimals. Anything longer
# is refused before the regex runs, so a megabyte of digits costs nothing.
_MAX_AMOUNT_CHARS = MAX_INTEGER_DIGITS + 3
_EXAMPLE = 'e.g. "1250.50"'


class AmountError(ValueError):
    """An amount the user sent is not acceptable; `message` says what is wrong and how to fix it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _diagnose(text: str) -> str:
    """Explain why `text` does not match the amount grammar (only called on failure)."""
    if text[0] in "+-":
        return f"amount must be a positive decimal string without a sign, {_EXAMPLE}"
    if "e" in text or "E" in text:
        return f"amount must be written out in full, without an exponent, {_EXAMPLE}"
    if not text.isascii():
        return f"amount may contain only the ASCII digits 0-9 and one '.', {_EXAMPLE}"
    if text.startswith(".") or text.endswith("."):
        return f"amount needs digits on both sides of the decimal point, {_EXAMPLE}"
    integer, dot, fraction = text.partition(".")
    if dot and integer.isdigit() and fraction.isdigit() and len(fraction) > 2:
        return f"amount must be a decimal string with at most 2 decimal places, {_EXAMPLE}"
    if len(integer) > 1 and integer.startswith("0") and integer.isdigit():
        return f"amount must not have leading zeros, {_EXAMPLE}"
    return f"amount must be a decimal string of digits with an optional '.' and 2 decimals, {_EXAMPLE}"


def parse_amount_fen(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse a positive CNH amount string ("1250", "1250.5", "0.01") into fen; with `allow_zero`,
    "0" too (a value written down to nothing, never an amount of money to move).

    Raises AmountError naming `field` for anything else: non-strings (JSON numbers are refused so
    that no float ever touches money), signs, exponents, more than 2 decimal places, zero,
    non-ASCII digits, or more than MAX_AMOUNT_FEN.
    """
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        raise AmountError(field, f'amount must be a JSON string such as "1250.50", not {kind}')
    if value == "":
        raise AmountError(field, f"amount is empty; send a decimal string, {_EXAMPLE}")
    if len(value) > _MAX_AMOUNT_CHARS:
        raise AmountError(
            field,
            f"amount has too many digits: at most {MAX_INTEGER_DIGITS} before the decimal point "
            f"and 2 after, {_EXAMPLE}",
        )
    if any(ch.isspace() for ch in value):
        raise AmountError(field, f"amount must not contain spaces, {_EXAMPLE}")
    match = _AMOUNT_RE.fullmatch(value)
    if match is None:
        raise AmountError(field, _diagnose(value))
    integer, fraction = match.group(1), match.group(2) or ""
    if len(integer) > MAX_INTEGER_DIGITS:
        raise AmountError(
            field, f"amount has too many digits: more than {MAX_INTEGER_DIGITS} before the decimal point"
        )
    fen = int(integer) * FEN_PER_CNH + int(fraction.ljust(2, "0"))
    if fen == 0 and not allow_zero:
        raise AmountError(field, 'amount must be greater than zero; the smallest amount is "0.01"')
    if fen > MAX_AMOUNT_FEN:
        raise AmountError(field, f"amount must be at most {format_fen(MAX_AMOUNT_FEN)}")
    return fen


def format_fen(fen: int) -> str:
    """1250_50 -> "1250.50"; always 2 decimals. Negative values (shortfalls) keep their sign."""
    fen = _require_int(fen, "fen")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_CNH)
    return f"{sign}{whole}.{cents:02d}"


def fen_to_units(fen: int) -> int:
    """Fen to token base units (6 decimals)."""
    return _require_int(fen, "fen") * UNITS_PER_FEN


def units_to_fen(units: int) -> int:
    """Token base units to fen; refuses dust that is not a whole number of fen."""
    units = _require_int(units, "units")
    fen, remainder = divmod(units, UNITS_PER_FEN)
    if remainder:
        raise ValueError(f"{units} token units is not a whole number of fen (1 fen = {UNITS_PER_FEN} units)")
    return fen


def format_units(units: int) -> str:
    """12_500_000 -> "12.500000": token base units as a 6-decimal string."""
    units = _require_int(units, "units")
    sign = "-" if units < 0 else ""
    scale = 10**TOKEN_DECIMALS
    whole, frac = divmod(abs(units), scale)
    return f"{sign}{whole}.{frac:0{TOKEN_DECIMALS}d}"
