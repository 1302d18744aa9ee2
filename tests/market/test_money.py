from __future__ import annotations

import pytest
from babel.core import UnknownLocaleError
from hypothesis import given
from hypothesis import strategies as st

from market.money import (
    AmountError,
    CurrencyMismatch,
    Money,
    default_locale,
    fee_split,
    format_bp,
    largest_remainder,
    parse_bp,
    set_default_locale,
)


def test_refuses_float_and_bool() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100) * 0.5  # type: ignore[operator]


def test_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(100, "usd") + Money(100, "eur")
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "usd") < Money(100, "eur")


def test_arithmetic_and_immutability() -> None:
    a = Money(500)
    assert a + Money(25) == Money(525)
    assert a - Money(600) == Money(-100)
    assert 3 * a == Money(1500)
    with pytest.raises(AttributeError):
        a.cents = 1  # type: ignore[misc]


def test_split_story_dues() -> None:
    # $1,500 of dues, 10 % to the reserve and 90 % to the pool.
    pool, reserve = Money(150_000).split([9000, 1000])
    assert (pool, reserve) == (Money(135_000), Money(15_000))


def test_split_hands_out_every_cent_earlier_first_on_ties() -> None:
    assert [m.cents for m in Money(100).split(3)] == [34, 33, 33]
    assert [m.cents for m in Money(-100).split(3)] == [-34, -33, -33]
    assert largest_remainder(10, [1, 0, 1]) == [5, 0, 5]


def test_split_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Money(100).split(0)
    with pytest.raises(ValueError):
        Money(100).split([0, 0])
    with pytest.raises(ValueError):
        Money(100).split([1, -1])


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_split_sums_exactly_and_is_fair(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        return
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    for part, w in zip(parts, weights, strict=True):
        exact = abs(total) * w / sum(weights)
        assert abs(abs(part) - exact) < 1


def test_format() -> None:
    assert Money(135_000).format() == "$1,350.00"
    assert Money(51_237, "eur").format("de_DE") == "512,37\xa0€"
    assert str(Money(5)) == "$0.05"


# Currencies by the digits of their minor unit (Babel's precision).
CURRENCIES = ["usd", "eur", "jpy", "krw", "kwd", "bhd"]
LOCALES = ["en_US", "de_DE", "fr_FR", "en_IN"]


def test_fee_split_is_the_books_rule() -> None:
    """$4.99 at 15 %: the largest remainder gives the reserve the odd cent."""
    parts = fee_split(Money(499), 1500)
    assert (parts.pool, parts.reserve) == (Money(424), Money(75))
    assert fee_split(Money(500), 0).reserve == Money(0)
    assert fee_split(Money(500, "jpy"), 10_000).pool == Money(0, "jpy")
    for bad in (-1, 10_001):
        with pytest.raises(ValueError):
            fee_split(Money(500), bad)
    with pytest.raises(TypeError):
        fee_split(Money(500), 15.0)  # type: ignore[arg-type]


@given(st.integers(0, 10**15), st.integers(0, 10_000), st.sampled_from(CURRENCIES))
def test_fee_split_hands_out_every_minor_unit(fee: int, bp: int, currency: str) -> None:
    parts = fee_split(Money(fee, currency), bp)
    assert parts.pool + parts.reserve == Money(fee, currency)
    assert parts.pool.cents >= 0 and parts.reserve.cents >= 0
    # Within one minor unit of the exact share, never more.
    assert abs(parts.reserve.cents * 10_000 - fee * bp) < 10_000


@pytest.mark.parametrize(
    ("text", "currency", "locale", "cents"),
    [
        ("12", "usd", "en_US", 1200),
        ("12.3", "usd", "en_US", 1230),
        ("12.30", "usd", "en_US", 1230),
        ("1,234.50", "usd", "en_US", 123_450),
        ("$1,234.50", "usd", "en_US", 123_450),
        ("12 USD", "usd", "en_US", 1200),
        (" +0.5 ", "usd", "en_US", 50),
        ("12.300", "usd", "en_US", 1230),  # trailing zeros are not finer than a cent
        ("1.234,50", "eur", "de_DE", 123_450),
        ("1 234,50", "eur", "fr_FR", 123_450),
        ("1,234", "jpy", "en_US", 1234),
        ("1.005", "kwd", "en_US", 1005),
        ("92233720368547758.07", "usd", "en_US", 2**63 - 1),
    ],
)
def test_parse_reads_what_people_type(text: str, currency: str, locale: str, cents: int) -> None:
    assert Money.parse(text, currency, locale) == Money(cents, currency)


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("1.005", "usd", "USD amounts have at most 2 decimal places"),
        ("12.5", "jpy", "JPY amounts are whole numbers"),
        ("1.0005", "kwd", "KWD amounts have at most 3 decimal places"),
        ("NaN", "usd", "not an amount"),
        ("sNaN", "usd", "not an amount"),
        ("Infinity", "usd", "not an amount"),
        ("-inf", "usd", "not an amount"),
        ("1e5", "usd", "not an amount"),
        ("1,23", "usd", "not an amount"),
        ("+-5", "usd", "not an amount"),
        ("", "usd", "Enter an amount"),
        ("-5", "usd", "cannot be negative"),
        ("92233720368547758.08", "usd", "too large"),
        ("9" * 200, "usd", "not an amount"),
    ],
)
def test_parse_refuses_what_would_be_booked_as_something_else(
    text: str, currency: str, reason: str
) -> None:
    with pytest.raises(AmountError, match=reason):
        Money.parse(text, currency, "en_US")


def test_parse_limits() -> None:
    assert Money.parse("-5", "usd", "en_US", negative=True) == Money(-500)
    with pytest.raises(AmountError, match=r"at most \$10.00"):
        Money.parse("10.01", "usd", "en_US", maximum=1000)


@given(st.integers(0, 2**63 - 1), st.sampled_from(CURRENCIES), st.sampled_from(LOCALES))
def test_what_a_form_shows_parses_back_to_the_same_amount(
    cents: int, currency: str, locale: str
) -> None:
    money = Money(cents, currency)
    assert Money.parse(money.plain(locale), currency, locale) == money


@given(st.integers(1, 10**12), st.sampled_from(CURRENCIES))
def test_one_digit_finer_than_the_minor_unit_is_refused(cents: int, currency: str) -> None:
    text = Money(cents, currency).plain("en_US")
    finer = text + ("1" if "." in text else ".1")
    with pytest.raises(AmountError, match="decimal places|whole numbers"):
        Money.parse(finer, currency, "en_US")


def test_format_bp() -> None:
    assert format_bp(1250) == "12.5 %"
    assert format_bp(5000) == "50 %"
    assert format_bp(1) == "0.01 %"
    assert format_bp(1250, "de_DE") == "12,5 %"
    with pytest.raises(TypeError):
        format_bp(12.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "bp"), [("12", 1200), ("12.5", 1250), ("12.34 %", 1234), ("0", 0), ("100", 10_000)]
)
def test_parse_bp_reads_percentages(text: str, bp: int) -> None:
    assert parse_bp(text, "en_US") == bp


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "at most 2 decimal places"),
        ("NaN", "not a percentage"),
        ("sNaN", "not a percentage"),
        ("Infinity", "not a percentage"),
        ("1e1", "not a percentage"),
        ("-1", "between 0 and 100 %"),
        ("100.01", "between 0 and 100 %"),
    ],
)
def test_parse_bp_refuses(text: str, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        parse_bp(text, "en_US")


def test_amounts_are_formatted_in_the_default_locale() -> None:
    before = default_locale()
    try:
        set_default_locale("de_DE")
        assert str(Money(123_450, "eur")) == "1.234,50\xa0€"
        assert format_bp(1250) == "12,5 %"
        with pytest.raises(UnknownLocaleError):
            set_default_locale("xx_NOPE")
    finally:
        set_default_locale(before)
