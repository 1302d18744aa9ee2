from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.money import CurrencyMismatch, Money, largest_remainder


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
