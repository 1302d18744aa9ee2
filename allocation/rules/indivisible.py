"""Indivisible rules: choose which projects (deals) to buy from approval ballots under a budget.

* ``method_of_equal_shares``: MES with cost utilities (Peters & Skowron), as pabutools 1.2.3
  computes it: ties go to the lowest project id (as a string).
* ``method_of_equal_shares_add1u``: MES raised one currency unit per voter at a time until its
  outcome is exhaustive (or the next one would overspend), then completed greedily ("Add1U",
  the equalshares.net standard), exactly as pabutools' ``voter_budget_increment`` followed by
  ``greedy_utilitarian_welfare`` with ``Cost_Sat``.
* ``greedy_by_approvals``: most approvals first (ties: lower cost, then id); each that fits.

Weights: a ballot of weight w counts as w voters (its voter starts MES with w times the
per-voter budget); with integer weights every rule equals replicating ballots.

Input is validated and equal ballots grouped in ``approvals``; MES itself (float64, with the
tolerance that makes its sets those of exact rationals) is in ``mes``. To run several rules
on one election, group it once with ``prepare_approvals`` and pass the result in place of
the ballots (as pabutools' ``profile.as_multiprofile()``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from fractions import Fraction

from allocation.rules.approvals import ApprovalElection, Number, exact, prepare
from allocation.rules.mes import mes

Ballots = Sequence[Collection[str]]


def prepare_approvals(
    approvals: Ballots,
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None = None,
) -> ApprovalElection:
    """Validate an election and group its equal ballots once, for one or more rules."""
    return prepare(approvals, costs, budget, weights)


def _election(
    approvals: Ballots | ApprovalElection,
    costs: Mapping[str, Number] | None,
    budget: Number | None,
    weights: Sequence[float] | None,
) -> ApprovalElection:
    if isinstance(approvals, ApprovalElection):
        if costs is not None or budget is not None or weights is not None:
            raise ValueError("a prepared election already holds its costs, budget and weights")
        return approvals
    if costs is None or budget is None:
        raise ValueError("costs and budget are required with ballots")
    return prepare(approvals, costs, budget, weights)


def _spent(e: ApprovalElection, chosen: Collection[int]) -> int:
    """Exact cost of the projects, in the election's integer units."""
    return sum(e.int_cost[j] for j in chosen)


def _greedy_fill(e: ApprovalElection, chosen: list[int], by_cost: bool) -> list[int]:
    """Add projects by approval weight (then cost if by_cost, then id) while they fit."""
    taken = set(chosen)

    def key(j: int) -> tuple[float, Fraction, int]:
        return (-e.approval_weight[j], e.exact_cost[j] if by_cost else Fraction(0), j)

    order = sorted(range(len(e.ids)), key=key)
    left = e.int_budget - _spent(e, chosen)
    out = list(chosen)
    for j in order:
        if j not in taken and e.int_cost[j] <= left:
            out.append(j)
            left -= e.int_cost[j]
    assert left >= 0
    return out


def _add1(e: ApprovalElection, step: Fraction) -> list[int]:
    """MES from B/W per voter, raised by `step` until exhaustive; the last outcome that fits."""
    supported = [j for j in range(len(e.ids)) if e.approval_weight[j] > 0]
    start = e.budget / Fraction(e.total_weight)
    previous: list[int] = []
    while True:
        outcome = mes(e, float(start))
        left = e.int_budget - _spent(e, outcome)
        if left < 0:
            return previous  # the last outcome within budget
        taken = set(outcome)
        if all(j in taken or e.int_cost[j] > left for j in supported):
            return outcome  # exhaustive: no supported project still fits
        previous = outcome
        start += step


def _checked(e: ApprovalElection, chosen: list[int]) -> list[str]:
    assert len(set(chosen)) == len(chosen), "a project was bought twice"
    assert _spent(e, chosen) <= e.int_budget, "outcome exceeds the budget"
    return [e.ids[j] for j in chosen]


# ---------------------------------------------------------------- public rules


def method_of_equal_shares(
    approvals: Ballots | ApprovalElection,
    costs: Mapping[str, Number] | None = None,
    budget: Number | None = None,
    weights: Sequence[float] | None = None,
) -> list[str]:
    """Method of Equal Shares with cost utilities; project ids in the order bought."""
    e = _election(approvals, costs, budget, weights)
    if e.total_weight == 0:
        return []
    return _checked(e, mes(e, float(e.budget) / e.total_weight))


def method_of_equal_shares_add1u(
    approvals: Ballots | ApprovalElection,
    costs: Mapping[str, Number] | None = None,
    budget: Number | None = None,
    weights: Sequence[float] | None = None,
    increment: Number = 1,
) -> list[str]:
    """MES with Add1 (raise each voter's budget by `increment` until exhaustive) then greedy."""
    e = _election(approvals, costs, budget, weights)
    step = exact(increment, "increment")
    if step <= 0:
        raise ValueError(f"increment must be > 0, got {increment!r}")
    if e.total_weight == 0:
        return _checked(e, _greedy_fill(e, [], by_cost=False))  # as pabutools: greedy only
    return _checked(e, _greedy_fill(e, _add1(e, step), by_cost=False))


def greedy_by_approvals(
    approvals: Ballots | ApprovalElection,
    costs: Mapping[str, Number] | None = None,
    budget: Number | None = None,
    weights: Sequence[float] | None = None,
) -> list[str]:
    """Projects by approvals (ties: lower cost, then id), each bought if it still fits."""
    e = _election(approvals, costs, budget, weights)
    return _checked(e, _greedy_fill(e, [], by_cost=True))
