"""R1: reserves cover outstanding supply at par plus the buffer, in integer arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.reserve_policy import (
    max_mintable_fen,
    required_reserve_fen,
    reserve_covers,
    reserve_surplus_fen,
)

fen = st.integers(min_value=0, max_value=10**18)
bps = st.integers(min_value=0, max_value=10_000)


def test_reserve_exactly_at_supply_plus_buffer_covers_and_one_fen_less_does_not() -> None:
    assert reserve_covers(102_000, 100_000, 200) is True
    assert reserve_covers(101_999, 100_000, 200) is False


def test_without_buffer_reserve_equal_to_supply_covers() -> None:
    assert reserve_covers(100, 100, 0) is True
    assert reserve_covers(99, 100, 0) is False
    assert reserve_covers(0, 0, 200) is True


def test_required_reserve_rounds_up_to_a_whole_fen() -> None:
    assert required_reserve_fen(100_000, 200) == 102_000
    assert required_reserve_fen(1, 200) == 2  # 1.02 fen needs 2 fen
    assert required_reserve_fen(0, 200) == 0


def test_max_mintable_is_the_supply_headroom_the_reserve_still_covers() -> None:
    assert max_mintable_fen(102_000, 100_000, 200) == 0
    assert max_mintable_fen(102_000, 0, 200) == 100_000
    assert max_mintable_fen(100_000, 100_000, 200) == 0  # already short: never negative


def test_surplus_is_negative_when_reserves_are_short() -> None:
    assert reserve_surplus_fen(101_000, 100_000, 200) == -1_000
    assert reserve_surplus_fen(105_000, 100_000, 200) == 3_000


@pytest.mark.parametrize("bad", [1.0, True, "1"])
def test_reserve_functions_refuse_non_int_money(bad: object) -> None:
    with pytest.raises(TypeError):
        reserve_covers(bad, 1, 0)  # type: ignore[arg-type]


def test_reserve_functions_refuse_negative_amounts() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        reserve_covers(-1, 0, 0)


@given(fen, fen, bps)
def test_covers_exactly_when_reserve_reaches_the_required_reserve(
    reserve: int, supply: int, buffer: int
) -> None:
    assert reserve_covers(reserve, supply, buffer) == (reserve >= required_reserve_fen(supply, buffer))


@given(fen, fen, bps)
def test_max_mintable_is_covered_and_one_more_fen_is_not(reserve: int, supply: int, buffer: int) -> None:
    headroom = max_mintable_fen(reserve, supply, buffer)
    if reserve_covers(reserve, supply, buffer):
        assert reserve_covers(reserve, supply + headroom, buffer)
        assert not reserve_covers(reserve, supply + headroom + 1, buffer)
    else:
        assert headroom == 0
