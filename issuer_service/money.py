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


def _parse_fen(value: object) -> int:
    try:
        return parse_amount_fen(value)
    except AmountError as exc:
        raise PydanticCustomError("amount_invalid", "{reason}", {"reason": exc.message}) from None


_as_decimal_string = PlainSerializer(format_fen, return_type=str)

FenAmount = Annotated[
    int,
    BeforeValidator(_parse_fen),
    _as_decimal_string,
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "examples": ["1250.50"]}),
]
FenString = Annotated[
    int,
    _as_decimal_string,
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1250.50"]}),
]
