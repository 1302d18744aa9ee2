"""Allocation rules: pure functions from ballots to a split, a set of deals, or cents."""

from __future__ import annotations

from allocation.rules.apportion import apportion_cents
from allocation.rules.approvals import ApprovalElection
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
from allocation.rules.indivisible import (
    greedy_by_approvals,
    method_of_equal_shares,
    method_of_equal_shares_add1u,
    prepare_approvals,
)
from allocation.rules.pabulib import PabulibElection, PabulibError, parse_pabulib_text, read_pabulib

__all__ = [
    "ApprovalElection",
    "prepare_approvals",
    "PabulibElection",
    "PabulibError",
    "greedy_by_approvals",
    "method_of_equal_shares",
    "method_of_equal_shares_add1u",
    "parse_pabulib_text",
    "read_pabulib",
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
