"""Divisible rules: split a pool among channels from members' share ballots.

A profile is an n x m matrix (one row per ballot, one column per channel) and optional
weights (a ballot of weight w counts as w voters). Two input conventions:

* integer arrays are **basis points**: every entry in 0..10000, every row sums to 10000;
* float arrays are **shares**: every entry >= 0 and finite, every row sums to 1 within
  ``TOLERANCE``. Nothing is renormalised: a row outside the tolerance is a ValueError.

Every rule reads, per channel, only "how much weight gave each value", so each rule also has
a ``*_from_histogram`` entry point taking an (m, 10001) array of total weights per basis-point
value (``hist[j, v]`` = weight of ballots giving v basis points to channel j, zeros included).
Per-ballot basis-point input is turned into that histogram first, so both entry points give
bit-identical outcomes.

Weights are in voter units (integer weights equal replicating ballots). Independent Markets
and the mean depend only on relative weights: IM's phantoms are placed with total weight W
instead of n. The consensus rule reads the k-th largest vote in voter units (below one voter
of total weight it returns the mean).

An abstaining member is not in the profile. An empty profile (no ballots, or zero total
weight) raises ValueError: no rule here defines a split without voters, so the caller (the
round) must choose its fallback explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TOLERANCE = 1e-9
"""How far a float ballot's shares may sum from 1 (and a histogram's totals may disagree)."""

BASIS_POINTS = 10_000
HISTOGRAM_WIDTH = BASIS_POINTS + 1

# Bisection stops when the bracket can no longer shrink in float64 or after this many steps;
# the last bracket is then interpolated, so the outcome sums to 1 whichever happens first.
_MAX_BISECTIONS = 200


class _Ladder:
    """One channel's votes: distinct positive values (descending) and the weight at each."""

    __slots__ = ("values", "weights", "cum")

    def __init__(self, values: FloatArray, weights: FloatArray) -> None:
        self.values = values
        self.weights = weights
        # cum[a] = total weight of votes >= values[a]: all any rule needs for order statistics.
        self.cum = np.cumsum(weights)


# ---------------------------------------------------------------- validation


def _weights(weights: npt.ArrayLike | None, n: int) -> FloatArray | None:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per ballot ({n}), got shape {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"ballot {i}: weight {float(w[i])!r} is not a finite number >= 0")
    return w


def _first_bad_row(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask.any(axis=1) if mask.ndim == 2 else mask)[0])


def _profile(shares: npt.ArrayLike) -> np.ndarray:
    """Return the profile as an array after checking its shape and entry type."""
    x = np.asarray(shares)
    if x.ndim != 2:
        raise ValueError(f"ballots must be a 2-D array (ballots x channels), got {x.ndim}-D")
    if x.shape[1] == 0:
        raise ValueError("there are no channels to split among")
    if x.dtype.kind not in "iuf":
        raise ValueError(f"ballots must be integers (basis points) or floats, not {x.dtype}")
    return x


def _check_basis_points(bp: np.ndarray) -> None:
    out_of_range = (bp < 0) | (bp > BASIS_POINTS)
    if out_of_range.any():
        i = _first_bad_row(out_of_range)
        j = int(np.flatnonzero(out_of_range[i])[0])
        raise ValueError(f"ballot {i}: channel {j} has {bp[i, j]} basis points (0..10000)")
    sums = bp.sum(axis=1, dtype=np.int64)
    wrong = sums != BASIS_POINTS
    if wrong.any():
        i = _first_bad_row(wrong)
        raise ValueError(f"ballot {i}: basis points sum to {sums[i]}, not 10000")


def _check_float_shares(x: np.ndarray) -> None:
    finite = np.isfinite(x)
    if not finite.all():
        i = _first_bad_row(~finite)
        raise ValueError(f"ballot {i}: shares contain NaN or infinity ({x[i].tolist()})")
    negative = x < 0
    if negative.any():
        i = _first_bad_row(negative)
        j = int(np.flatnonzero(negative[i])[0])
        raise ValueError(f"ballot {i}: share for channel {j} is negative ({float(x[i, j])!r})")
    sums = x.sum(axis=1)
    wrong = np.abs(sums - 1.0) > TOLERANCE
    if wrong.any():
        i = _first_bad_row(wrong)
        raise ValueError(
            f"ballot {i}: shares sum to {float(sums[i])!r}, not 1 (tolerance {TOLERANCE:g}); "
            "shares are never renormalised"
        )


def _total(w: FloatArray | None, n: int) -> float:
    # Summing sorted weights makes the total independent of the ballots' order, bit for bit.
    total = float(n) if w is None else float(np.sort(w).sum())
    if n == 0 or total <= 0:
        raise ValueError(
            "empty profile: no ballots (or zero total weight); the rules do not define a "
            "split without voters, so the caller must choose a fallback"
        )
    return total


def ballots_to_matrix(
    ballots: Sequence[Mapping[str, float | int]], channel_ids: Sequence[str]
) -> np.ndarray:
    """Turn ballots given as {channel id: share} into a profile matrix (columns = channel_ids)."""
    index = {cid: j for j, cid in enumerate(channel_ids)}
    if len(index) != len(channel_ids):
        raise ValueError("channel ids must be unique")
    is_int = all(isinstance(v, int) for b in ballots for v in b.values())
    out = np.zeros((len(ballots), len(channel_ids)), dtype=np.int64 if is_int else np.float64)
    for i, ballot in enumerate(ballots):
        for cid, value in ballot.items():
            if cid not in index:
                raise ValueError(f"ballot {i}: unknown channel id {cid!r}")
            out[i, index[cid]] = value
    return out


# ---------------------------------------------------------------- ladders


def histogram_from_ballots(
    shares: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FloatArray:
    """Tally basis-point ballots into an (m, 10001) histogram of total weight per value."""
    bp = _profile(shares)
    if bp.dtype.kind == "f":
        raise ValueError("histogram_from_ballots needs integer basis points, not floats")
    _check_basis_points(bp)
    n, m = bp.shape
    w = _weights(weights, n)
    flat_w = None
    if w is not None:
        # Each bin then sums its weights in ascending order, whatever order the ballots came in.
        order = np.argsort(w, kind="stable")
        bp, w = bp[order], w[order]
        flat_w = np.repeat(w, m)
    flat = (bp.astype(np.int64) + np.arange(m, dtype=np.int64) * HISTOGRAM_WIDTH).ravel()
    counts = np.bincount(flat, weights=flat_w, minlength=m * HISTOGRAM_WIDTH)
    return counts.astype(np.float64).reshape(m, HISTOGRAM_WIDTH)


def _ladders_from_histogram(hist: npt.ArrayLike) -> tuple[list[_Ladder], float]:
    h = np.asarray(hist, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != HISTOGRAM_WIDTH or h.shape[0] == 0:
        raise ValueError(f"histogram must have shape (channels, 10001), got {h.shape}")
    if not np.isfinite(h).all() or (h < 0).any():
        j = _first_bad_row(~np.isfinite(h) | (h < 0))
        raise ValueError(f"histogram row {j}: weights must be finite and >= 0")
    totals = h.sum(axis=1)
    total = float(totals[0])
    if total <= 0:
        _total(None, 0)
    # Every ballot is counted once in every channel's row (zeros included), so rows agree.
    off = np.abs(totals - total) > TOLERANCE * total
    if off.any():
        j = _first_bad_row(off)
        raise ValueError(
            f"histogram row {j} totals {float(totals[j])!r} but row 0 totals {total!r}; "
            "every ballot must appear in every channel's row (zeros included)"
        )
    points = float(h @ np.arange(HISTOGRAM_WIDTH, dtype=np.float64) @ np.ones(h.shape[0]))
    if abs(points - BASIS_POINTS * total) > TOLERANCE * BASIS_POINTS * total:
        raise ValueError("histogram ballots do not sum to 10000 basis points on average")
    ladders = []
    for row in h:
        idx = np.flatnonzero(row[1:])[::-1] + 1
        ladders.append(_Ladder(idx / BASIS_POINTS, row[idx]))
    return ladders, total


def _run_starts(s: FloatArray) -> npt.NDArray[np.intp]:
    """Indices where a run of equal values begins in a sorted, non-empty array."""
    starts = np.empty(s.size, dtype=bool)
    starts[0] = True
    np.not_equal(s[1:], s[:-1], out=starts[1:])
    return np.flatnonzero(starts)


def _ladder_from_column(col: FloatArray, w: FloatArray | None) -> _Ladder:
    if w is None:
        s = np.sort(col[col > 0])[::-1]  # real ballots are sparse: sort only the votes > 0
        if s.size == 0:
            return _Ladder(s, s.copy())
        starts = _run_starts(s)
        counts = np.diff(np.append(starts, s.size)).astype(np.float64)
        return _Ladder(s[starts], counts)
    # Equal values are summed in ascending weight order so the float sum, and hence the
    # outcome, does not depend on the order the ballots came in.
    keep = (col > 0) & (w > 0)
    c, cw = col[keep], w[keep]
    if c.size == 0:
        return _Ladder(c, cw)
    order = np.lexsort((cw, -c))
    s, sw = c[order], cw[order]
    starts = _run_starts(s)
    return _Ladder(s[starts], np.add.reduceat(sw, starts))


def _ladders(shares: npt.ArrayLike, weights: npt.ArrayLike | None) -> tuple[list[_Ladder], float]:
    x = _profile(shares)
    n = x.shape[0]
    w = _weights(weights, n)
    _total(w, n)
    if x.dtype.kind in "iu":
        return _ladders_from_histogram(histogram_from_ballots(x, w))
    x = x.astype(np.float64, copy=False)
    _check_float_shares(x)
    bp = np.rint(x * BASIS_POINTS)
    if np.array_equal(bp / BASIS_POINTS, x):
        # Float ballots that are exact basis points take the histogram path: same outcome, O(n).
        return _ladders_from_histogram(histogram_from_ballots(bp.astype(np.int64), w))
    ladders = [_ladder_from_column(np.ascontiguousarray(x[:, j]), w) for j in range(x.shape[1])]
    return ladders, _total(w, n)


# ---------------------------------------------------------------- the rules on ladders


def _check_split(x: FloatArray) -> FloatArray:
    assert np.all(x >= 0), f"negative part in split {x}"
    assert abs(float(x.sum()) - 1.0) <= TOLERANCE, f"split sums to {x.sum()!r}"
    return x


def _mean(ladders: list[_Ladder], total: float) -> FloatArray:
    return _check_split(np.array([float(lad.values @ lad.weights) / total for lad in ladders]))


def _solve_monotone(
    parts: Callable[[float], FloatArray], lo: float, hi: float, increasing: bool
) -> FloatArray:
    """Bisect a monotone, continuous, piecewise-linear sum of parts to 1, then interpolate."""
    p_lo, p_hi = parts(lo), parts(hi)
    s_lo, s_hi = float(p_lo.sum()), float(p_hi.sum())
    for _ in range(_MAX_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi or s_lo == s_hi:
            break
        p_mid = parts(mid)
        s_mid = float(p_mid.sum())
        if (s_mid < 1.0) == increasing:
            lo, p_lo, s_lo = mid, p_mid, s_mid
        else:
            hi, p_hi, s_hi = mid, p_mid, s_mid
    # The sum is linear on the final bracket (or the bracket is a float ulp wide), so the
    # convex combination of the endpoint splits is the exact solution and sums to 1.
    lam = 0.0 if s_hi == s_lo else (1.0 - s_lo) / (s_hi - s_lo)
    lam = min(1.0, max(0.0, lam))
    return _check_split((1.0 - lam) * p_lo + lam * p_hi)


def _independent_markets(ladders: list[_Ladder], total: float) -> FloatArray:
    # med_j(t) = max_a min(X_a, t * C_a) with C_a the (normalised) weight of votes >= X_a:
    # the median of votes and moving phantoms. X falls and C rises, so the max sits where
    # t * C_a first reaches X_a; r_a = X_a / C_a falls in a, so a binary search finds it.
    cols = []
    for lad in ladders:
        x = np.append(lad.values, 0.0)
        c = np.append(lad.cum / total, 1.0)
        cols.append((x, c, -(x / c), np.concatenate(([0.0], c[:-1]))))

    def parts(t: float) -> FloatArray:
        out = np.empty(len(cols))
        for j, (x, _c, neg_r, c_prev) in enumerate(cols):
            a = int(np.searchsorted(neg_r, -t, side="left"))
            out[j] = max(x[a], t * c_prev[a])
        return out

    t_hi = max(float(-neg_r[0]) for _x, _c, neg_r, _p in cols)
    return _solve_monotone(parts, 0.0, t_hi, increasing=True)


def _consensus(ladders: list[_Ladder], total: float) -> FloatArray:
    # A_j(k) = mean of channel j's descending vote curve over [k-1, k] (in voter units): the
    # k-th largest vote, linearly interpolated, and equal to replication for integer weights.
    # Below one voter of total weight the window shrinks to the whole curve (the mean).
    width = min(1.0, total)
    cols = []
    for lad in ladders:
        prefix = np.concatenate(([0.0], np.cumsum(lad.values * lad.weights)))
        cols.append((np.concatenate(([0.0], lad.cum)), prefix, np.append(lad.values, 0.0)))

    def integral(y: float, c: FloatArray, prefix: FloatArray, x: FloatArray) -> float:
        a = int(np.searchsorted(c, y, side="left"))  # c[a-1] < y <= c[a]
        if a == 0:
            return 0.0
        return float(prefix[a - 1] + x[a - 1] * (min(y, c[-1]) - c[a - 1]))

    def parts(k: float) -> FloatArray:
        return np.array([(integral(k, *col) - integral(k - width, *col)) / width for col in cols])

    return _solve_monotone(parts, width, total, increasing=False)


# ---------------------------------------------------------------- public entry points


def mean_split(shares: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> FloatArray:
    """Weighted mean of the ballots (proportional, but a voter gains by exaggerating)."""
    return _mean(*_ladders(shares, weights))


def independent_markets(shares: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> FloatArray:
    """Independent Markets (Freeman et al. 2021): truthful moving-phantom split; the default."""
    return _independent_markets(*_ladders(shares, weights))


def voter_media_consensus(
    shares: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FloatArray:
    """VoterMedia interpolated consensus: the common k-th largest vote that exhausts the pool."""
    return _consensus(*_ladders(shares, weights))


def mean_split_from_histogram(hist: npt.ArrayLike) -> FloatArray:
    """Mean from an (m, 10001) histogram of weight per basis-point value."""
    return _mean(*_ladders_from_histogram(hist))


def independent_markets_from_histogram(hist: npt.ArrayLike) -> FloatArray:
    """Independent Markets from an (m, 10001) histogram of weight per basis-point value."""
    return _independent_markets(*_ladders_from_histogram(hist))


def voter_media_consensus_from_histogram(hist: npt.ArrayLike) -> FloatArray:
    """VoterMedia consensus from an (m, 10001) histogram of weight per basis-point value."""
    return _consensus(*_ladders_from_histogram(hist))
