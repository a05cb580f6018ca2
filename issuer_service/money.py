"""Money at the HTTP edge (design.md "Money"): JSON decimal strings in, int fen inside, once.

`FenAmount` is for inputs: a positive decimal string ("1250.50") parsed by
`compliance.money.parse_amount_fen`; JSON numbers, signs, exponents, zero and more than two
decimals are refused with a message naming the field. `FenString` is for outputs: int fen rendered
as "1250.50". Floats never appear.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from compliance.money import AmountError, format_fen, parse_amount_fen

_DECIMAL_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$"


def _parse_fen(value: object, *, allow_zero: bool = False) -> int:
    try:
        return parse_amount_fen(value, allow_zero=allow_zero)
    except AmountError as exc:
        raise PydanticCustomError("amount_invalid", "{reason}", {"reason": exc.message}) from None


def _parse_fen_or_zero(value: object) -> int:
    return _parse_fen(value, allow_zero=True)


_as_decimal_string = PlainSerializer(format_fen, return_type=str)

FenAmount = Annotated[
    int,
    BeforeValidator(_parse_fen),
    _as_decimal_string,
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "examples": ["1250.50"]}),
]
# A value that may be written down to nothing (a reserve asset that matured or was sold); never an
# amount of money to move.
FenValue = Annotated[
    int,
    BeforeValidator(_parse_fen_or_zero),
    _as_decimal_string,
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "examples": ["0.00"]}),
]
FenString = Annotated[
    int,
    _as_decimal_string,
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1250.50"]}),
]
