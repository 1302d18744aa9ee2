"""Allocation rules: pure functions from ballots to a split, a set of deals, or cents."""

from __future__ import annotations

from allocation.rules.apportion import apportion_cents
from allocation.rules.divisible import (
    BASIS_POINTS,
    TOLERANCE,
    ballots_to_matrix,
    histogram_from_ballots,
    independent_markets,
    independent_markets_from_histogram,
    mean_split,
    mean_split_from_histogram,
    voter_media_consensus,
    voter_media_consensus_from_histogram,
)

__all__ = [
    "BASIS_POINTS",
    "TOLERANCE",
    "apportion_cents",
    "ballots_to_matrix",
    "histogram_from_ballots",
    "independent_markets",
    "independent_markets_from_histogram",
    "mean_split",
    "mean_split_from_histogram",
    "voter_media_consensus",
    "voter_media_consensus_from_histogram",
]
