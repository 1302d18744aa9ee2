"""Method of Equal Shares with cost utilities, on groups of equal ballots, as pabutools 1.2.3.

Each voter starts with `start` per unit of weight. Repeatedly, the project with the smallest
rho (every approver pays min(budget, rho * cost)) is bought; ties go to the lowest index.

MES runs in float64. pabutools computes in exact rationals; to give the same sets, the
comparisons that exact arithmetic can tie (two projects' rho, "the budgets cover the cost",
"this voter pays all she has") use a relative tolerance ``REL_TOL`` far above float error
and far below real differences.

Speed: rho only rises as budgets fall, so a project's last rho is a lower bound on its
current one; projects wait in a heap keyed by that bound and only those whose bound could
beat the round's best are recomputed (pabutools' lazy order). Budgets are updated in place:
the winner pays from the copy of its approvers' budgets its evaluation gathered (nothing
changed since), written back once. Each evaluation is a few numpy calls (one dot product for
"can they cover it", then a rich/poor fixed point on float masks), so the tests compare
this engine round by round with a straightforward exact one
(tests/allocation/rules/test_rules_mes_exact.py).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from allocation.rules.approvals import ApprovalElection, FloatArray

REL_TOL = 1e-9
_UP = 1.0 + REL_TOL
_DOWN = 1.0 - REL_TOL

# Each evaluation is a handful of numpy calls on a thousand-odd numbers, so the calls
# themselves are the cost: bound once here, the fastest spelling of each.
_max = np.maximum.reduce
_dot = np.dot
_ge = np.greater_equal


def _rho(
    budgets: FloatArray, weights: FloatArray, cost: float, total: float, lower: float
) -> float | None:
    """Smallest rho with sum w * min(b, rho * cost) = cost, or None if unaffordable.

    `lower` is a known lower bound on rho (its value before budgets fell).
    """
    held = float(_dot(budgets, weights))
    if held < cost * _DOWN:
        return None
    cap = cost / total
    paying = budgets * weights
    # Poor/rich fixed point (pabutools' affordability_poor_rich), i.e. Newton's method on the
    # concave sum w * min(b, cap): voters who cannot pay the cap pay all they have, the rest
    # share what is left. Started at or below the answer (the old rho), the cap only rises
    # and the rich set only shrinks: when it stops changing, the cap is final. The set is a
    # 0/1 float mask (dot products on floats only); it has stopped changing when its weight
    # has (weights are > 0, and a weight too small to move the sum moves no cap either).
    # A budget equal to the cap up to float error pays the cap either way: it counts rich.
    rich = np.empty_like(budgets)
    _ge(budgets, max(cap, lower * cost) / _UP, out=rich, casting="unsafe")
    rich_weight = float(_dot(weights, rich))
    if rich_weight >= total:
        return 1.0 / total  # everyone pays cost / total: exact ties stay exact in float
    while rich_weight:
        left = cost - (held - float(_dot(paying, rich)))
        _ge(budgets, left / (rich_weight * _UP), out=rich, casting="unsafe")
        now_weight = float(_dot(weights, rich))
        if now_weight == rich_weight:
            return left / (cost * rich_weight)
        rich_weight = now_weight
    # The budgets cover the cost only up to float error: all pay all they have.
    return float(_max(budgets)) / cost


def mes(e: ApprovalElection, start: float) -> list[int]:
    """One MES run with every voter starting at `start` per unit of weight; returns indices."""
    budget = np.full(e.group_weight.size, start)
    supporters, weights = e.supporters, e.supporter_weight
    cost: list[float] = e.cost.tolist()
    approval: list[float] = e.approval_weight.tolist()
    # Budgets never grow within a run: a project the full starting budgets cannot cover
    # is out from the start (the same test _rho makes, for all projects at once).
    heap = [
        (1.0 / a, j)
        for j, (c, a) in enumerate(zip(cost, approval, strict=True))
        if a > 0 and a * start >= c * _DOWN
    ]
    heapq.heapify(heap)
    pop, push, take = heapq.heappop, heapq.heappush, budget.take
    chosen: list[int] = []
    while heap:
        best, evaluated = math.inf, []
        while heap and heap[0][0] <= best * _UP:
            bound, j = pop(heap)
            held = take(supporters[j])  # a copy: this round's budgets, kept for the winner
            rho = _rho(held, weights[j], cost[j], approval[j], bound)
            if rho is None:
                continue  # budgets never grow back within a run
            evaluated.append((rho, j, held))
            if rho < best:
                best = rho
        if not evaluated:
            break
        if len(evaluated) == 1:
            _rho_won, won, left = evaluated[0]
        else:
            limit = best * _UP
            won, left = min((j, held) for rho, j, held in evaluated if rho <= limit)
            for rho, j, _held in evaluated:
                if j != won:
                    push(heap, (rho, j))
        chosen.append(won)
        cap = best * cost[won]
        # No budget changed since the evaluations: pay from the winner's copy, write it back.
        left -= cap
        # A voter whose budget equals the cap (up to float error) has paid everything.
        left[left <= cap * REL_TOL] = 0.0
        budget[supporters[won]] = left
    assert budget.min(initial=0.0) >= 0.0, "a voter paid more than she had"
    return chosen
