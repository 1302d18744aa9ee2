"""From counted ballots to an outcome: the one path shared by the close and by any recount.

Pure (numpy and allocation.rules only). Ballots are grouped by weight (in thousandths);
per weight, integer counts per channel and basis-point value; the float histogram the rules
read is then summed in ascending weight order, so the database tally and a recount from the
audit file build bit-identical histograms and hence identical cents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocation import rules

WIDTH = rules.BASIS_POINTS + 1

RULES: dict[str, Callable[[npt.ArrayLike], npt.NDArray[np.float64]]] = {
    "independent_markets": rules.independent_markets_from_histogram,
    "consensus": rules.voter_media_consensus_from_histogram,
    "mean": rules.mean_split_from_histogram,
}


def counts_from_sparse(
    channels: int, ballots: int, nonzero: Iterable[tuple[int, int, int]]
) -> npt.NDArray[np.int64]:
    """Counts (channels × 10001) from (channel index, bp > 0, count) rows; zeros derived."""
    counts = np.zeros((channels, WIDTH), dtype=np.int64)
    for j, bp, n in nonzero:
        counts[j, bp] += n
    counts[:, 0] = ballots - counts[:, 1:].sum(axis=1)
    assert (counts[:, 0] >= 0).all(), "more shares than ballots"
    return counts


def counts_from_arrays(
    channels: int,
    ballots: int,
    channel_index: npt.NDArray[np.int64],
    bp: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Like counts_from_sparse, from parallel arrays (vectorised: no Python loop per group)."""
    counts = np.zeros((channels, WIDTH), dtype=np.int64)
    np.add.at(counts, (channel_index, bp), count)
    counts[:, 0] = ballots - counts[:, 1:].sum(axis=1)
    assert (counts[:, 0] >= 0).all(), "more shares than ballots"
    return counts


def counts_from_dense(bp: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Counts (channels × 10001) from a (ballots × channels) basis-point matrix."""
    n, m = bp.shape
    flat = (bp.astype(np.int64) + np.arange(m, dtype=np.int64) * WIDTH).ravel()
    return np.bincount(flat, minlength=m * WIDTH).astype(np.int64).reshape(m, WIDTH)


def weighted_histogram(
    counts_by_weight: Mapping[int, npt.NDArray[np.int64]],
) -> npt.NDArray[np.float64] | None:
    """Σ weight × counts in ascending weight order; None when no ballot carries weight."""
    total: npt.NDArray[np.float64] | None = None
    for milli in sorted(counts_by_weight):
        counts = counts_by_weight[milli]
        if milli <= 0 or counts[0].sum() == 0:
            continue  # weight 0 (or no ballots) adds nothing
        part = counts.astype(np.float64) * (milli / 1000)
        total = part if total is None else total + part
    return total


@dataclass(frozen=True)
class Outcome:
    """A round's outcome: shares and cents per channel, beside what the plain mean gives."""

    channel_ids: tuple[int, ...]
    shares: tuple[float, ...]
    cents: tuple[int, ...]
    mean_shares: tuple[float, ...]
    mean_cents: tuple[int, ...]


def outcome(
    rule: str, hist: npt.NDArray[np.float64], pool_cents: int, channel_ids: Sequence[int]
) -> Outcome:
    """Run the rule and the mean on a histogram and apportion the pool exactly."""
    shares = RULES[rule](hist)
    mean = rules.mean_split_from_histogram(hist)
    ids = list(channel_ids)
    return Outcome(
        channel_ids=tuple(ids),
        shares=tuple(float(s) for s in shares),
        cents=tuple(rules.apportion_cents(shares, pool_cents, ids)),
        mean_shares=tuple(float(s) for s in mean),
        mean_cents=tuple(rules.apportion_cents(mean, pool_cents, ids)),
    )
