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


def _rho(
    budgets: FloatArray, weights: FloatArray, cost: float, total: float, lower: float
) -> float | None:
    """Smallest rho with sum w * min(b, rho * cost) = cost, or None if unaffordable.

    `lower` is a known lower bound on rho (its value before budgets fell).
    """
    cap = cost / total
    # A budget equal to the cap up to float error pays the cap either way: count it rich.
    # (Everyone rich implies the budgets cover the cost, so this test comes first.)
    if float(budgets.min()) * _UP >= cap:
        return 1.0 / total  # everyone pays cost / total: exact ties stay exact in float
    paying = budgets * weights
    held = float(paying.sum())
    if held < cost * (1.0 - REL_TOL):
        return None
    # Poor/rich fixed point (pabutools' affordability_poor_rich), i.e. Newton's method on the
    # concave sum w * min(b, cap): voters who cannot pay the cap pay all they have, the rest
    # share what is left. Started at or below the answer (the old rho), the cap only rises
    # and the rich set only shrinks: when its size stops changing, the cap is final.
    rich = budgets >= max(cap, lower * cost) / _UP
    n_rich = int(np.count_nonzero(rich))
    while n_rich:
        rich_weight = float(weights @ rich)
        left = cost - (held - float(paying @ rich))
        rich = budgets >= left / (rich_weight * _UP)
        now_rich = int(np.count_nonzero(rich))
        if now_rich == n_rich:
            return left / (cost * rich_weight)
        n_rich = now_rich
    # The budgets cover the cost only up to float error: all pay all they have.
    return float(budgets.max()) / cost


def mes(e: ApprovalElection, start: float) -> list[int]:
    """One MES run with every voter starting at `start` per unit of weight; returns indices."""
    budget = np.full(e.group_weight.size, start)
    supporters, weights = e.supporters, e.supporter_weight
    cost, approval = e.cost, e.approval_weight
    # Budgets never grow within a run: a project the full starting budgets cannot cover
    # is out from the start (the same test _rho makes, for all projects at once).
    live = np.flatnonzero((approval > 0) & (approval * start >= cost * (1.0 - REL_TOL)))
    heap = [(1.0 / float(approval[j]), int(j)) for j in live]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap:
        best, evaluated = math.inf, []
        while heap and heap[0][0] <= best * _UP:
            bound, j = heapq.heappop(heap)
            rho = _rho(budget[supporters[j]], weights[j], cost[j], approval[j], bound)
            if rho is None:
                continue  # budgets never grow back within a run
            evaluated.append((rho, j))
            best = min(best, rho)
        if not evaluated:
            break
        won = min(j for rho, j in evaluated if rho <= best * _UP)
        for rho, j in evaluated:
            if j != won:
                heapq.heappush(heap, (rho, j))
        chosen.append(won)
        cap = best * cost[won]
        sup = supporters[won]
        left = budget[sup]
        left -= cap
        # A voter whose budget equals the cap (up to float error) has paid everything.
        np.copyto(left, 0.0, where=left <= cap * REL_TOL)
        budget[sup] = left
    assert budget.min(initial=0.0) >= 0.0, "a voter paid more than she had"
    return chosen
