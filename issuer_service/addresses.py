"""EVM addresses at the HTTP edge: one parse, one clear error, checksummed inside."""

from __future__ import annotations

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

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
