"""EVM addresses at the HTTP edge: one parse, one clear error, checksummed inside."""

from __future__ import annotations

from typing import Annotated

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from pydantic import AfterValidator, StringConstraints

from issuer_service.errors import ValidationFailed


def parse_address(value: str, *, field: str) -> str:
    """Accept 0x + 40 hex digits, all lower-case, all upper-case or correctly EIP-55 checksummed."""
    text = value.strip()
    if not is_hex_address(text):
        raise ValidationFailed(
            f"{text[:50]!r} is not an EVM address; expected 0x followed by 40 hex digits", field=field
        )
    body = text[2:]
    mixed_case = body != body.lower() and body != body.upper()
    if mixed_case and not is_checksum_address(text):
        raise ValidationFailed(
            "the address has a wrong EIP-55 checksum (a typo?); send it all lower-case or correctly checksummed",
            field=field,
        )
    return str(to_checksum_address(text))


def _checksummed_if_valid(value: str) -> str:
    try:
        return parse_address(value, field="")
    except ValidationFailed:
        return value  # refused by the use case's parse_address, naming its field


# An address in a request body: a valid one is held in its EIP-55 form, so two spellings of one wallet
# are one request (an idempotent retry that lower-cases it replays, not 409); anything else is kept as
# sent for `parse_address` to refuse with the field's name.
AddressIn = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_checksummed_if_valid)
]
