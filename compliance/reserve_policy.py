"""R1: reserves must cover every outstanding token at par plus the profile's buffer.

Integer arithmetic only: with buffer b basis points, reserves R cover supply S when
R * 10_000 >= S * (10_000 + b). No division, so no rounding can let a mint slip through.
"""

from __future__ import annotations

BPS = 10_000


def _non_negative(value: int, name: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int (minor units), got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def reserve_covers(reserve_fen: int, supply_fen: int, buffer_bps: int) -> bool:
    """R1: True when reserve_fen backs supply_fen at par plus buffer_bps."""
    _non_negative(reserve_fen, "reserve_fen")
    _non_negative(supply_fen, "supply_fen")
    _non_negative(buffer_bps, "buffer_bps")
    return reserve_fen * BPS >= supply_fen * (BPS + buffer_bps)


def required_reserve_fen(supply_fen: int, buffer_bps: int) -> int:
    """R1: the smallest reserve that covers supply_fen (rounded up to a whole fen)."""
    _non_negative(supply_fen, "supply_fen")
    _non_negative(buffer_bps, "buffer_bps")
    return -(-supply_fen * (BPS + buffer_bps) // BPS)


def max_mintable_fen(reserve_fen: int, supply_fen: int, buffer_bps: int) -> int:
    """R1: the largest extra supply the current reserve still covers (0 when already short).

    This is the on-chain cap's view: reserves fixed, supply grows. It is the ceiling the
    reserve attestation puts on minting.
    """
    _non_negative(reserve_fen, "reserve_fen")
    _non_negative(supply_fen, "supply_fen")
    _non_negative(buffer_bps, "buffer_bps")
    return max(0, reserve_fen * BPS // (BPS + buffer_bps) - supply_fen)


def reserve_surplus_fen(reserve_fen: int, supply_fen: int, buffer_bps: int) -> int:
    """Reserve minus the R1 requirement: positive is excess, negative is the shortfall to cure."""
    _non_negative(reserve_fen, "reserve_fen")
    return reserve_fen - required_reserve_fen(supply_fen, buffer_bps)
