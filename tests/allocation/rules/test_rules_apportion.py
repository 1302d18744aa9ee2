"""Largest-remainder apportionment: every cent handed out, ties by channel id."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.rules import apportion_cents


@settings(derandomize=True, deadline=None, max_examples=200)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 12),
    pool=st.one_of(st.integers(0, 1000), st.integers(0, 10**15)),
)
def test_parts_sum_to_pool_and_stay_within_a_cent(seed: int, m: int, pool: int) -> None:
    shares = np.random.default_rng(seed).dirichlet(np.ones(m))
    cents = apportion_cents(shares, pool)
    assert sum(cents) == pool
    total = sum(Fraction(s) for s in shares.tolist())
    for c, s in zip(cents, shares.tolist(), strict=True):
        quota = Fraction(s) / total * pool
        assert c >= 0 and abs(c - quota) < 1


def test_ties_go_to_the_smaller_channel_id() -> None:
    third = np.array([1 / 3, 1 / 3, 1 / 3])
    assert apportion_cents(third, 100, ["b", "c", "a"]) == [33, 33, 34]
    assert apportion_cents(third, 101, [3, 1, 2]) == [33, 34, 34]
    assert apportion_cents(np.array([2500, 2500, 5000]), 2, ["z", "y", "x"]) == [0, 1, 1]


def test_edge_cases() -> None:
    assert apportion_cents(np.array([1.0]), 12_345) == [12_345]
    assert apportion_cents(np.array([0.5, 0.5]), 0) == [0, 0]
    assert apportion_cents(np.array([0.0, 1.0]), 7) == [0, 7]


@pytest.mark.parametrize(
    ("shares", "pool", "ids", "message"),
    [
        ([0.5, 0.6], 100, None, "shares sum to"),
        ([1.5, -0.5], 100, None, "channel 1 is not a finite number >= 0"),
        ([np.nan, 1.0], 100, None, "channel 0 is not a finite number"),
        ([0.5, 0.5], -1, None, "pool must be >= 0"),
        ([0.5, 0.5], 1.5, None, "integer number of cents"),
        ([0.5, 0.5], 100, ["a"], "2 shares"),
        ([0.5, 0.5], 100, ["a", "a"], "unique"),
        ([5000, 4000], 100, None, "basis points"),
        ([], 100, None, "non-empty"),
    ],
)
def test_bad_input(shares, pool, ids, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        apportion_cents(np.array(shares), pool, ids)
