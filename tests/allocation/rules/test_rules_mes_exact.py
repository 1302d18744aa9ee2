"""The fast MES engine against a straightforward exact one, on many random instances.

The engine (``allocation.rules.mes``) runs in float64 with a tolerance, groups equal ballots,
keeps lazy bounds in a heap and pays in place. The reference below does none of that: every
round it computes every project's rho exactly (Fractions, ballots one by one, budgets sorted)
and buys the smallest, ties to the lowest id, as ALLOCATION.md states the rule. Instances are
drawn so that exact ties are common (few costs, repeated ballots, mirrored projects), and the
comparison is on the order of purchase, not only the set: an optimisation that changed a
winner, or the round it was bought in, fails here.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from allocation.rules import (
    method_of_equal_shares,
    method_of_equal_shares_add1u,
    prepare_approvals,
)
from allocation.rules.mes import mes

Ballot = tuple[str, ...]


def exact_rho(budgets: list[tuple[Fraction, Fraction]], cost: Fraction) -> Fraction | None:
    """Smallest rho with sum w * min(b, rho * cost) = cost over (b, w) pairs, or None."""
    if sum(b * w for b, w in budgets) < cost:
        return None
    paid, weight = Fraction(0), sum(w for _b, w in budgets)
    for b, w in sorted(budgets):
        cap = (cost - paid) / weight
        if b >= cap:
            return cap / cost
        paid, weight = paid + b * w, weight - w
    return max(b for b, _w in budgets) / cost  # everyone pays all she has, exactly


def exact_mes(
    approvals: list[Ballot], costs: dict[str, int], weights: list[Fraction], start: Fraction
) -> list[str]:
    """MES with cost utilities in exact arithmetic, every project re-evaluated every round."""
    ids = sorted(costs)
    budget = [start] * len(approvals)
    chosen: list[str] = []
    while True:
        best: tuple[Fraction, str] | None = None
        for pid in ids:
            if pid in chosen:
                continue
            voters = [i for i, b in enumerate(approvals) if pid in b and weights[i] > 0]
            if not voters:
                continue
            rho = exact_rho([(budget[i], weights[i]) for i in voters], Fraction(costs[pid]))
            if rho is not None and (best is None or rho < best[0]):
                best = (rho, pid)  # ids ascending: the first of equal rhos stays
        if best is None:
            return chosen
        rho, pid = best
        chosen.append(pid)
        for i, b in enumerate(approvals):
            if pid in b and weights[i] > 0:
                budget[i] -= min(budget[i], rho * costs[pid])


def exact_add1u(
    approvals: list[Ballot], costs: dict[str, int], budget: int, weights: list[Fraction]
) -> list[str]:
    """Add1 (one unit per voter at a time) then greedy by approvals, all exact."""
    ids = sorted(costs)
    approval = {p: sum(w for b, w in zip(approvals, weights, strict=True) if p in b) for p in ids}
    supported = [p for p in ids if approval[p] > 0]
    total = sum(weights)
    outcome: list[str] = []
    previous: list[str] = []
    if total > 0:
        start = Fraction(budget) / total
        while True:
            outcome = exact_mes(approvals, costs, weights, start)
            left = budget - sum(costs[p] for p in outcome)
            if left < 0:
                outcome = previous
                break
            if all(p in outcome or costs[p] > left for p in supported):
                break
            previous, start = outcome, start + 1
    left = budget - sum(costs[p] for p in outcome)
    out = list(outcome)
    for p in sorted(ids, key=lambda p: (-approval[p], p)):
        if p not in out and costs[p] <= left:
            out.append(p)
            left -= costs[p]
    return out


def instance(seed: int) -> tuple[list[Ballot], dict[str, int], int, list[float] | None]:
    """A random election built for exact ties: few costs, few ballot patterns, twins."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 9))
    ids = [str(x) for x in rng.choice(40, size=m, replace=False)]
    pool = [[2, 4], [3, 6, 9], [1, 2, 3, 5, 8], list(range(1, 25))][seed % 4]
    costs = {p: int(rng.choice(pool)) for p in ids}
    if m > 1 and rng.random() < 0.5:  # a twin: same cost, approved by the same ballots
        costs[ids[1]] = costs[ids[0]]
    patterns = [
        tuple(p for p in ids if rng.random() < rng.uniform(0.2, 0.8))
        for _ in range(int(rng.integers(1, 7)))
    ]
    if m > 1:
        twin = ids[1]
        patterns = [
            tuple(p for p in b if p != twin) + ((twin,) if ids[0] in b else ()) for b in patterns
        ]
    n = int(rng.integers(0, 30))
    approvals = [patterns[int(rng.integers(len(patterns)))] for _ in range(n)]
    budget = int(rng.integers(0, sum(costs.values()) + 3))
    weights = None
    if seed % 3 == 0:  # weights exact in binary, so the reference can take them as Fractions
        weights = rng.choice([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0], size=n).tolist()
    return approvals, costs, budget, weights


def _as_fractions(n: int, weights: list[float] | None) -> list[Fraction]:
    return [Fraction(1)] * n if weights is None else [Fraction(w) for w in weights]


@pytest.mark.parametrize("batch", range(12))
def test_mes_buys_what_exact_arithmetic_buys_in_the_same_order(batch: int) -> None:
    for seed in range(batch * 50, batch * 50 + 50):
        approvals, costs, budget, weights = instance(seed)
        w = _as_fractions(len(approvals), weights)
        total = sum(w)
        expected = exact_mes(approvals, costs, w, Fraction(budget) / total) if total else []
        assert method_of_equal_shares(approvals, costs, budget, weights) == expected, seed


@pytest.mark.parametrize("batch", range(6))
def test_add1u_equals_exact_add1u(batch: int) -> None:
    for seed in range(batch * 40, batch * 40 + 40):
        approvals, costs, budget, weights = instance(seed)
        expected = exact_add1u(approvals, costs, budget, _as_fractions(len(approvals), weights))
        assert method_of_equal_shares_add1u(approvals, costs, budget, weights) == expected, seed


@pytest.mark.parametrize("seed", range(8))
def test_engine_equals_exact_on_larger_elections_at_many_starting_budgets(seed: int) -> None:
    # Hundreds of voters and a few dozen projects: the lazy heap skips most evaluations here,
    # and Add1 runs the engine at raised starting budgets, so several starts are compared.
    rng = np.random.default_rng(1000 + seed)
    m = 24
    ids = [f"p{j}" for j in range(m)]
    costs = {p: int(rng.choice([10, 20, 30, 40, 60])) for p in ids}
    popularity = rng.uniform(0.05, 0.6, size=m)
    patterns = [
        tuple(p for p, q in zip(ids, popularity, strict=True) if rng.random() < q)
        for _ in range(60)
    ]
    approvals = [patterns[int(rng.integers(60))] for _ in range(400)]
    budget = int(sum(costs.values()) * rng.uniform(0.2, 0.6))
    e = prepare_approvals(approvals, costs, budget)
    w = [Fraction(1)] * len(approvals)
    for extra in (0, 1, 3):
        start = Fraction(budget, len(approvals)) + extra
        expected = exact_mes(approvals, costs, w, start)
        assert [e.ids[j] for j in mes(e, float(start))] == expected, (seed, extra)


def test_more_projects_than_one_byte_indexes() -> None:
    # Past 256 projects the ids are mapped to indices another way: same outcomes, same errors.
    rng = np.random.default_rng(7)
    ids = [f"q{j:03d}" for j in range(300)]
    costs = {p: int(rng.choice([5, 10, 15])) for p in ids}
    approvals = [tuple(p for p in ids if rng.random() < 0.03) for _ in range(60)]
    budget = 400
    w = [Fraction(1)] * len(approvals)
    expected = exact_mes(approvals, costs, w, Fraction(budget, len(approvals)))
    assert method_of_equal_shares(approvals, costs, budget) == expected
    with pytest.raises(ValueError, match="ballot 1: unknown project id 'nope'"):
        method_of_equal_shares([("q001",), ("q002", "nope")], costs, budget)
