"""Divisible rules: brute-force agreement, truthfulness, histograms, edge cases, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.rules import (
    apportion_cents,
    ballots_to_matrix,
    histogram_from_ballots,
    independent_markets,
    independent_markets_from_histogram,
    mean_split,
    mean_split_from_histogram,
    voter_media_consensus,
    voter_media_consensus_from_histogram,
)
from allocation.rules.divisible import _consensus, _independent_markets, _ladder_from_column

RULES = [independent_markets, voter_media_consensus, mean_split]
FROM_HIST = {
    independent_markets: independent_markets_from_histogram,
    voter_media_consensus: voter_media_consensus_from_histogram,
    mean_split: mean_split_from_histogram,
}
SETTINGS = settings(derandomize=True, deadline=None, max_examples=120)


def random_bp(rng: np.random.Generator, n: int, m: int, sparse: bool = True) -> np.ndarray:
    """Random basis-point ballots; sparse ones look like real ballots (many zeros)."""
    alpha = 0.3 if sparse else 1.0
    raw = np.floor(rng.dirichlet(np.full(m, alpha), size=n) * 10_000).astype(np.int64)
    raw[np.arange(n), rng.integers(0, m, size=n)] += 10_000 - raw.sum(axis=1)
    return raw


def replicate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.repeat(x, w.astype(int), axis=0)


def brute_im(x: np.ndarray) -> np.ndarray:
    """IM straight from the paper: median of votes and n+1 phantoms, bisection on t."""
    n = x.shape[0]

    def med(t: float) -> np.ndarray:
        phantoms = np.minimum(1.0, t * (n - np.arange(n + 1)))
        return np.array([np.median(np.r_[x[:, j], phantoms]) for j in range(x.shape[1])])

    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if med(mid).sum() < 1 else (lo, mid)
    a, b = med(lo), med(hi)
    lam = 0.0 if b.sum() == a.sum() else (1 - a.sum()) / (b.sum() - a.sum())
    return (1 - lam) * a + lam * b


def brute_consensus(x: np.ndarray) -> np.ndarray:
    """Interpolated k-th largest vote per channel, bisection on k."""
    n = x.shape[0]
    desc = -np.sort(-x, axis=0)
    pos = np.arange(1, n + 1)

    def a(k: float) -> np.ndarray:
        return np.array([np.interp(k, pos, desc[:, j]) for j in range(x.shape[1])])

    lo, hi = 1.0, float(n)
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if a(mid).sum() > 1 else (lo, mid)
    p, q = a(lo), a(hi)
    lam = 0.0 if p.sum() == q.sum() else (p.sum() - 1) / (p.sum() - q.sum())
    return (1 - lam) * p + lam * q


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 5))
def test_im_matches_brute_force_median(seed: int, n: int, m: int) -> None:
    x = random_bp(np.random.default_rng(seed), n, m) / 10_000
    assert np.allclose(independent_markets(x), brute_im(x), atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 5))
def test_consensus_matches_brute_force(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.full(m, 0.5), size=n)
    assert np.allclose(voter_media_consensus(x), brute_consensus(x), atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), m=st.integers(1, 6))
def test_im_equals_mean_when_every_voter_is_single_minded(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.eye(m)[rng.integers(0, m, size=n)]
    w = rng.integers(1, 4, size=n).astype(float)
    assert np.allclose(independent_markets(x), mean_split(x), atol=1e-12)
    assert np.allclose(independent_markets(x, w), mean_split(x, w), atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), m=st.integers(2, 4))
def test_im_no_voter_gains_by_misreporting(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.full(m, 0.5), size=n)
    honest = independent_markets(x)
    i = int(rng.integers(0, n))
    for _ in range(5):
        lie = x.copy()
        lie[i] = rng.dirichlet(np.full(m, 0.3)) if rng.random() < 0.7 else np.eye(m)[0]
        gained = np.abs(honest - x[i]).sum() - np.abs(independent_markets(lie) - x[i]).sum()
        assert gained <= 1e-9


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), m=st.integers(1, 4))
def test_integer_weights_equal_replicated_ballots(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.full(m, 0.5), size=n)
    w = rng.integers(0, 4, size=n)
    if w.sum() == 0:
        w[0] = 1
    for rule in RULES:
        assert np.allclose(rule(x, w), rule(replicate(x, w)), atol=1e-9), rule.__name__


def test_consensus_equals_medians_when_they_sum_to_one() -> None:
    x = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.4, 0.4, 0.2]])
    medians = np.median(x, axis=0)
    assert medians.sum() == pytest.approx(1.0)
    assert np.allclose(voter_media_consensus(x), medians, atol=1e-12)
    y = np.array([[0.7, 0.3], [0.5, 0.5], [0.4, 0.6], [0.2, 0.8]])  # even n: mid-point medians
    assert np.allclose(voter_media_consensus(y), np.median(y, axis=0), atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), m=st.integers(1, 8))
def test_histogram_gives_identical_outcomes(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    bp = random_bp(rng, n, m)
    w = rng.integers(1, 5, size=n)
    for rule in RULES:
        for weights in (None, w):
            hist = histogram_from_ballots(bp, weights)
            from_hist = FROM_HIST[rule](hist)
            assert np.array_equal(rule(bp, weights), from_hist)
            # Float shares take the same path when they are exact basis points...
            assert np.array_equal(rule(bp / 10_000, weights), from_hist)
    # ...and the general (sorting) float path agrees with it bit for bit on unweighted ballots.
    x = bp / 10_000
    ladders = [_ladder_from_column(np.ascontiguousarray(x[:, j]), None) for j in range(m)]
    hist = histogram_from_ballots(bp)
    assert np.array_equal(
        _independent_markets(ladders, float(n)), independent_markets_from_histogram(hist)
    )
    assert np.array_equal(_consensus(ladders, float(n)), voter_media_consensus_from_histogram(hist))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), m=st.integers(1, 6))
def test_outcomes_are_splits_and_ignore_ballot_order(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.full(m, 0.4), size=n)
    w = rng.random(n) + 0.5
    perm = rng.permutation(n)
    for rule in RULES:
        out = rule(x, w)
        assert (out >= 0).all() and abs(out.sum() - 1) <= 1e-9
        assert np.array_equal(out, rule(x[perm], w[perm]))
        cents = apportion_cents(out, 123_457)
        assert sum(cents) == 123_457 and min(cents) >= 0


@pytest.mark.parametrize("rule", RULES)
def test_edge_cases(rule) -> None:  # type: ignore[no-untyped-def]
    assert np.array_equal(rule(np.ones((5, 1))), [1.0])  # one channel
    assert np.array_equal(rule(np.array([[10_000]])), [1.0])
    one = np.array([[0.25, 0.75, 0.0]])
    assert np.allclose(rule(one), one[0])  # a single ballot is the outcome
    with pytest.raises(ValueError, match="empty profile"):
        rule(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty profile"):
        rule(np.eye(3), weights=[0, 0, 0])
    # All members abstaining means nobody is in the profile: the same clear error.
    with pytest.raises(ValueError, match="ballot 0: shares sum to 0.0"):
        rule(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no channels"):
        rule(np.zeros((2, 0)))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    ("ballots", "weights", "message"),
    [
        ([[0.5, 0.5], [1.2, -0.2]], None, "ballot 1: share for channel 1 is negative"),
        ([[0.5, 0.5], [0.5, 0.4]], None, "ballot 1: shares sum to 0.9"),
        ([[0.5, 0.5 + 1e-8]], None, "ballot 0: shares sum to"),
        ([[0.5, np.nan]], None, "ballot 0: shares contain NaN"),
        ([[np.inf, 0.0]], None, "ballot 0: shares contain NaN or infinity"),
        ([[5000, 5001]], None, "ballot 0: basis points sum to 10001"),
        ([[10_001, -1]], None, "ballot 0: channel 0 has 10001 basis points"),
        ([[0.5, 0.5]], [-1.0], "ballot 0: weight -1.0"),
        ([[0.5, 0.5]], [np.nan], "ballot 0: weight nan"),
        ([[0.5, 0.5]], [1.0, 1.0], "one entry per ballot"),
    ],
)
def test_bad_ballots_are_rejected_by_name(rule, ballots, weights, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        rule(np.array(ballots), weights)


def test_tolerance_accepts_float_dust() -> None:
    x = np.array([[0.1, 0.2, 0.7 + 5e-10]])
    assert np.allclose(independent_markets(x), x[0], atol=1e-9)


def test_ballots_to_matrix_names_unknown_channel() -> None:
    m = ballots_to_matrix([{"a": 6000, "b": 4000}, {"b": 10_000}], ["a", "b"])
    assert m.tolist() == [[6000, 4000], [0, 10_000]]
    with pytest.raises(ValueError, match="ballot 1: unknown channel id 'zz'"):
        ballots_to_matrix([{"a": 1.0}, {"zz": 1.0}], ["a", "b"])


def test_histogram_must_count_every_ballot_in_every_row() -> None:
    hist = histogram_from_ballots(np.array([[10_000, 0], [0, 10_000]]))
    hist[1, 0] = 0.0
    with pytest.raises(ValueError, match="histogram row 1 totals"):
        independent_markets_from_histogram(hist)
    with pytest.raises(ValueError, match="shape"):
        mean_split_from_histogram(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="empty profile"):
        voter_media_consensus_from_histogram(np.zeros((2, 10_001)))
