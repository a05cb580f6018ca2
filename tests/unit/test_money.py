"""Amounts cross the API as decimal strings and become int fen exactly once (design.md, Money)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.money import (
    FEN_PER_CNH,
    MAX_AMOUNT_FEN,
    TOKEN_DECIMALS,
    UNITS_PER_FEN,
    AmountError,
    fen_to_units,
    format_fen,
    format_units,
    parse_amount_fen,
    units_to_fen,
)


def test_constants_describe_cnh_and_a_six_decimal_token() -> None:
    assert FEN_PER_CNH == 100
    assert TOKEN_DECIMALS == 6
    assert UNITS_PER_FEN == 10**TOKEN_DECIMALS // FEN_PER_CNH == 10_000
    assert MAX_AMOUNT_FEN == 10**17


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1250", 125_000),
        ("1250.5", 125_050),
        ("1250.50", 125_050),
        ("0.01", 1),
        ("0.1", 10),
        ("0.10", 10),
        ("1", 100),
        ("1000000000000000", MAX_AMOUNT_FEN),
        ("1000000000000000.00", MAX_AMOUNT_FEN),
    ],
)
def test_valid_amount_strings_parse_to_exact_fen(text: str, fen: int) -> None:
    assert parse_amount_fen(text) == fen


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("1" * 78, "too many digits"),
        ("9" * 21, "too many digits"),
        ("1" * 1_000_000, "too many digits"),
        ("1e3", "exponent"),
        ("1E3", "exponent"),
        ("-1", "sign"),
        ("+1", "sign"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("0.0", "greater than zero"),
        ("1.234", "at most 2 decimal places"),
        (" 1", "spaces"),
        ("1 ", "spaces"),
        ("1\n", "spaces"),
        ("1 000", "spaces"),
        ("", "empty"),
        (".5", "both sides of the decimal point"),
        ("5.", "both sides of the decimal point"),
        ("１", "ASCII"),
        ("١٢", "ASCII"),
        ("1٫5", "ASCII"),
        ("01", "leading zeros"),
        ("1,000", "decimal string"),
        ("abc", "decimal string"),
        ("1.2.3", "decimal string"),
        ("NaN", "decimal string"),
        ("Infinity", "decimal string"),
        ("0x10", "decimal string"),
        ("1_000", "decimal string"),
        ("1000000000000000.01", "at most 1000000000000000.00"),
        ("99999999999999999999", "at most"),
        (True, "not bool"),
        (False, "not bool"),
        (1.5, "not float"),
        (1250, "not int"),
        (None, "not null"),
        (b"1", "not bytes"),
    ],
)
def test_invalid_amounts_are_rejected_with_a_message_saying_what_to_fix(value: object, hint: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount_fen(value)
    assert caught.value.field == "amount"
    assert hint in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_amount_error_names_the_field_it_was_given() -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount_fen("1.234", field="fee")
    assert caught.value.field == "fee"
    assert (
        caught.value.message
        == 'amount must be a decimal string with at most 2 decimal places, e.g. "1250.50"'
    )
    assert str(caught.value).startswith("fee: ")


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_formatting_then_parsing_returns_the_same_fen(fen: int) -> None:
    assert parse_amount_fen(format_fen(fen)) == fen


@given(st.from_regex(r"\A(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?\Z"))
def test_parsing_then_formatting_gives_the_two_decimal_form_of_the_same_number(text: str) -> None:
    integer, _, fraction = text.partition(".")
    if int(integer) == 0 and int(fraction or "0") == 0:
        with pytest.raises(AmountError):
            parse_amount_fen(text)
        return
    assert format_fen(parse_amount_fen(text)) == f"{integer}.{fraction.ljust(2, '0')}"


@pytest.mark.parametrize(
    ("fen", "text"), [(125_050, "1250.50"), (1, "0.01"), (0, "0.00"), (100, "1.00"), (-5, "-0.05")]
)
def test_format_fen_always_shows_two_decimals(fen: int, text: str) -> None:
    assert format_fen(fen) == text


@pytest.mark.parametrize("bad", [True, 1.0, "100", None])
def test_format_fen_refuses_anything_but_int(bad: object) -> None:
    with pytest.raises(TypeError):
        format_fen(bad)  # type: ignore[arg-type]


def test_one_fen_is_ten_thousand_token_units_and_back() -> None:
    assert fen_to_units(1) == 10_000
    assert fen_to_units(125_050) == 1_250_500_000
    assert units_to_fen(1_250_500_000) == 125_050


def test_units_that_are_not_a_whole_fen_are_refused() -> None:
    with pytest.raises(ValueError, match="not a whole number of fen"):
        units_to_fen(10_001)


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_fen_to_units_and_back_is_lossless(fen: int) -> None:
    assert units_to_fen(fen_to_units(fen)) == fen


@pytest.mark.parametrize(
    ("units", "text"), [(12_500_000, "12.500000"), (1, "0.000001"), (0, "0.000000"), (-1, "-0.000001")]
)
def test_format_units_shows_six_decimals(units: int, text: str) -> None:
    assert format_units(units) == text


@pytest.mark.parametrize("bad", [True, 2.5])
def test_unit_conversions_refuse_bool_and_float(bad: object) -> None:
    for convert in (fen_to_units, units_to_fen, format_units):
        with pytest.raises(TypeError):
            convert(bad)  # type: ignore[arg-type]


def test_zero_is_an_amount_only_where_a_value_may_be_written_off() -> None:
    with pytest.raises(AmountError, match="greater than zero"):
        parse_amount_fen("0.00")
    assert parse_amount_fen("0", allow_zero=True) == 0
    assert parse_amount_fen("0.00", allow_zero=True) == 0
    with pytest.raises(AmountError):
        parse_amount_fen("-0.01", allow_zero=True)
