"""Method of Equal Shares with cost utilities, on groups of equal ballots, as pabutools 1.2.3.

Each voter starts with `start` per unit of weight. Repeatedly, the project with the smallest
rho (every approver pays min(budget, rho * cost)) is bought; ties go to the lowest index.

MES runs in float64. pabutools computes in exact rationals; to give the same sets, the
comparisons that exact arithmetic can tie (two projects' rho, "the budgets cover the cost",
"this voter pays all she has") use a relative tolerance ``REL_TOL`` far above float error
and far below real differences.

Speed: rho only rises as budgets fall, so a project's last rho is a lower bound on its
current one; projects wait in a heap keyed by that bound and only those whose bound could
beat the round's best are recomputed (pabutools' lazy order). Budgets are updated in place.
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
_min = np.minimum.reduce
_max = np.maximum.reduce
_dot = np.dot
_count = np.count_nonzero


def _rho(
    budgets: FloatArray, weights: FloatArray, cost: float, total: float, lower: float
) -> float | None:
    """Smallest rho with sum w * min(b, rho * cost) = cost, or None if unaffordable.

    `lower` is a known lower bound on rho (its value before budgets fell).
    """
    cap = cost / total
    # A budget equal to the cap up to float error pays the cap either way: count it rich.
    # (Everyone rich implies the budgets cover the cost, so this test comes first.)
    if float(_min(budgets)) * _UP >= cap:
        return 1.0 / total  # everyone pays cost / total: exact ties stay exact in float
    held = float(_dot(budgets, weights))
    if held < cost * _DOWN:
        return None
    paying = budgets * weights
    # Poor/rich fixed point (pabutools' affordability_poor_rich), i.e. Newton's method on the
    # concave sum w * min(b, cap): voters who cannot pay the cap pay all they have, the rest
    # share what is left. Started at or below the answer (the old rho), the cap only rises
    # and the rich set only shrinks: when its size stops changing, the cap is final.
    rich = budgets >= max(cap, lower * cost) / _UP
    n_rich = int(_count(rich))
    while n_rich:
        rich_weight = float(_dot(weights, rich))
        left = cost - (held - float(_dot(paying, rich)))
        rich = budgets >= left / (rich_weight * _UP)
        now_rich = int(_count(rich))
        if now_rich == n_rich:
            return left / (cost * rich_weight)
        n_rich = now_rich
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
    pop, push = heapq.heappop, heapq.heappush
    chosen: list[int] = []
    while heap:
        best, evaluated = math.inf, []
        while heap and heap[0][0] <= best * _UP:
            bound, j = pop(heap)
            held = budget[supporters[j]]  # a copy: this round's budgets, kept for the winner
            rho = _rho(held, weights[j], cost[j], approval[j], bound)
            if rho is None:
                continue  # budgets never grow back within a run
            evaluated.append((rho, j, held))
            if rho < best:
                best = rho
        if not evaluated:
            break
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
        np.copyto(left, 0.0, where=left <= cap * REL_TOL)
        budget[supporters[won]] = left
    assert budget.min(initial=0.0) >= 0.0, "a voter paid more than she had"
    return chosen
