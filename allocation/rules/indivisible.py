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

MES runs in float64 on groups of identical ballots (voters with equal ballots always hold
equal budgets). pabutools computes in exact rationals; to give the same sets, the comparisons
that exact arithmetic can tie (ratios rho, affordability, a voter paying her whole budget) use
a relative tolerance ``_REL_TOL`` far above float error and far below real differences.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import chain

import numpy as np
import numpy.typing as npt

Number = int | Fraction | Decimal | float
IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

_REL_TOL = 1e-9


@dataclass(frozen=True)
class _Election:
    """Validated input, with projects indexed in id order so the lowest index wins ties."""

    ids: list[str]
    cost: FloatArray
    exact_cost: list[Fraction]
    budget: Fraction
    total_weight: float
    approval_weight: FloatArray  # weight approving each project (exactly rounded sum)
    group_weight: FloatArray  # weight of each distinct ballot
    supporters: list[IntArray]  # groups approving each project


def _exact(value: object, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return Fraction(value)


def _first(approvals: Sequence[Collection[str]], key: object) -> int:
    """Index of the first ballot equal to key (only used to name a ballot in an error)."""
    return next(i for i, b in enumerate(approvals) if b == key or tuple(b) == key)


def _raw_groups(
    approvals: Sequence[Collection[str]], weights: Sequence[float] | None
) -> dict[object, float]:
    """Total weight per distinct ballot as given (before mapping ids to indices)."""
    if weights is None:
        # Counter runs in C: real elections repeat ballots a lot.
        keys = (b if isinstance(b, tuple | frozenset | str) else tuple(b) for b in approvals)
        return {k: float(c) for k, c in Counter(keys).items()}
    if len(weights) != len(approvals):
        raise ValueError(f"weights must have one entry per ballot ({len(approvals)})")
    raw: dict[object, list[float]] = {}
    for i, (ballot, weight) in enumerate(zip(approvals, weights, strict=True)):
        w = float(weight)
        if not (w >= 0 and math.isfinite(w)):
            raise ValueError(f"ballot {i}: weight {w!r} is not a finite number >= 0")
        key = ballot if isinstance(ballot, tuple | frozenset | str) else tuple(ballot)
        raw.setdefault(key, []).append(w)
    # fsum rounds once, so a group's weight does not depend on the ballots' order.
    return {k: math.fsum(ws) for k, ws in raw.items()}


def _incidence(
    approvals: Sequence[Collection[str]], index: Mapping[str, int], weights: Sequence[float] | None
) -> tuple[FloatArray, IntArray, IntArray]:
    """Weight of each distinct ballot and its (ballot group, project index) approval pairs."""
    raw = _raw_groups(approvals, weights)
    keys = list(raw)
    for key in keys:
        if isinstance(key, str):
            raise ValueError(f"ballot {_first(approvals, key)}: must be a collection of ids")
    lens = np.fromiter(map(len, keys), dtype=np.intp, count=len(keys))  # type: ignore[arg-type]
    flat: list[str] = list(chain.from_iterable(keys))  # type: ignore[arg-type]
    try:
        proj = np.fromiter(map(index.__getitem__, flat), dtype=np.intp, count=len(flat))
    except KeyError as exc:
        bad = next(k for k in keys if exc.args[0] in k)  # type: ignore[operator]
        raise ValueError(
            f"ballot {_first(approvals, bad)}: unknown project id {exc.args[0]!r}"
        ) from None
    group = np.repeat(np.arange(len(keys), dtype=np.intp), lens)
    pairs = np.sort(group * len(index) + proj)
    twice = pairs[1:] == pairs[:-1]
    if twice.any():
        bad_key = keys[int(pairs[1:][twice][0]) // len(index)]
        raise ValueError(f"ballot {_first(approvals, bad_key)}: approves a project more than once")
    group_weight = np.array([raw[k] for k in keys], dtype=np.float64)
    keep = group_weight[group] > 0
    return group_weight, group[keep], proj[keep]


def _prepare(
    approvals: Sequence[Collection[str]],
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None,
) -> _Election:
    ids = sorted(costs)
    for pid in ids:
        if not isinstance(pid, str):
            raise ValueError(f"project ids must be strings, got {pid!r}")
    exact_cost = [_exact(costs[pid], f"cost of project {pid!r}") for pid in ids]
    for pid, c in zip(ids, exact_cost, strict=True):
        if c <= 0:
            raise ValueError(f"project {pid!r}: cost must be > 0, got {costs[pid]!r}")
    exact_budget = _exact(budget, "budget")
    if exact_budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget!r}")
    index = {pid: j for j, pid in enumerate(ids)}
    group_weight, group, proj = _incidence(approvals, index, weights)
    by_project = np.argsort(proj, kind="stable")
    bounds = np.cumsum(np.bincount(proj, minlength=len(ids)))[:-1]
    supporters = np.split(group[by_project], bounds)
    # fsum rounds once, so approval weights do not depend on the order of the groups.
    approval = [math.fsum(group_weight[gs].tolist()) for gs in supporters]
    return _Election(
        ids=ids,
        cost=np.array([float(c) for c in exact_cost], dtype=np.float64),
        exact_cost=exact_cost,
        budget=exact_budget,
        total_weight=math.fsum(group_weight.tolist()),
        approval_weight=np.array(approval, dtype=np.float64),
        group_weight=group_weight,
        supporters=supporters,
    )


# ---------------------------------------------------------------- MES core


def _rho(budgets: FloatArray, weights: FloatArray, cost: float, total: float) -> float | None:
    """Smallest rho with sum w * min(b, rho * cost) = cost, or None if unaffordable."""
    if float(budgets @ weights) < cost * (1.0 - _REL_TOL):
        return None
    cap = cost / total
    if budgets.min() >= cap:
        return 1.0 / total  # everyone pays cost / total: exact ties stay exact in float
    # Poor/rich fixed point (pabutools' affordability_poor_rich): voters who cannot pay the
    # cap pay all they have, the rest share what is left; the cap only rises, so it ends.
    rich = np.ones(budgets.size, dtype=bool)
    paid, rich_weight = 0.0, total
    while True:
        # A budget equal to the cap up to float error pays the cap either way: count it rich.
        poor = rich & (budgets * (1.0 + _REL_TOL) < cap)
        if not poor.any():
            return (cost - paid) / (cost * rich_weight)
        rich &= ~poor
        if not rich.any():  # the budgets cover the cost only up to float error: all pay all
            return float(budgets.max()) / cost
        paid += float(budgets[poor] @ weights[poor])
        rich_weight = float(weights[rich].sum())
        cap = (cost - paid) / rich_weight


def _mes(e: _Election, start: float) -> list[int]:
    """One MES run with every voter starting at `start` per unit of weight; returns indices."""
    budget = np.full(e.group_weight.size, start)
    weights = [e.group_weight[s] for s in e.supporters]
    # rho only grows as budgets fall, so an old rho is a lower bound (pabutools' lazy order).
    bound = {j: 1.0 / e.approval_weight[j] for j in range(len(e.ids)) if e.approval_weight[j] > 0}
    chosen: list[int] = []
    while bound:
        best, tied = math.inf, []
        for j in sorted(bound, key=bound.__getitem__):
            if bound[j] > best * (1.0 + _REL_TOL):
                break
            rho = _rho(budget[e.supporters[j]], weights[j], e.cost[j], e.approval_weight[j])
            if rho is None:
                del bound[j]  # budgets never grow back within a run
                continue
            bound[j] = rho
            best = min(best, rho)
            tied.append(j)
        if not tied:
            break
        j = min(k for k in tied if bound[k] <= best * (1.0 + _REL_TOL))
        del bound[j]
        chosen.append(j)
        cap = best * e.cost[j]
        sup = e.supporters[j]
        left = budget[sup] - cap
        # A voter whose budget equals the cap (up to float error) has paid everything.
        left[left <= cap * _REL_TOL] = 0.0
        budget[sup] = left
    return chosen


def _spent(e: _Election, chosen: Collection[int]) -> Fraction:
    return sum((e.exact_cost[j] for j in chosen), Fraction(0))


def _greedy_fill(e: _Election, chosen: list[int], by_cost: bool) -> list[int]:
    """Add projects by approval weight (then cost if by_cost, then id) while they fit."""
    taken = set(chosen)

    def key(j: int) -> tuple[float, Fraction, int]:
        return (-e.approval_weight[j], e.exact_cost[j] if by_cost else Fraction(0), j)

    order = sorted(range(len(e.ids)), key=key)
    left = e.budget - _spent(e, chosen)
    out = list(chosen)
    for j in order:
        if j not in taken and e.exact_cost[j] <= left:
            out.append(j)
            left -= e.exact_cost[j]
    assert left >= 0
    return out


def _checked(e: _Election, chosen: list[int]) -> list[str]:
    assert len(set(chosen)) == len(chosen), "a project was bought twice"
    assert _spent(e, chosen) <= e.budget, "outcome exceeds the budget"
    return [e.ids[j] for j in chosen]


# ---------------------------------------------------------------- public rules


def method_of_equal_shares(
    approvals: Sequence[Collection[str]],
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None = None,
) -> list[str]:
    """Method of Equal Shares with cost utilities; project ids in the order bought."""
    e = _prepare(approvals, costs, budget, weights)
    if e.total_weight == 0:
        return []
    return _checked(e, _mes(e, float(e.budget) / e.total_weight))


def method_of_equal_shares_add1u(
    approvals: Sequence[Collection[str]],
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None = None,
    increment: Number = 1,
) -> list[str]:
    """MES with Add1 (raise each voter's budget by `increment` until exhaustive) then greedy."""
    e = _prepare(approvals, costs, budget, weights)
    step = _exact(increment, "increment")
    if step <= 0:
        raise ValueError(f"increment must be > 0, got {increment!r}")
    if e.total_weight == 0:
        return _checked(e, _greedy_fill(e, [], by_cost=False))  # as pabutools: greedy only
    supported = [j for j in range(len(e.ids)) if e.approval_weight[j] > 0]
    start = e.budget / Fraction(e.total_weight)
    previous: list[int] = []
    while True:
        outcome = _mes(e, float(start))
        spent = _spent(e, outcome)
        if spent > e.budget:
            break  # keep the last outcome within budget
        previous = outcome
        taken = set(outcome)
        if all(j in taken or e.exact_cost[j] + spent > e.budget for j in supported):
            break  # exhaustive: no supported project still fits
        start += step
    return _checked(e, _greedy_fill(e, previous, by_cost=False))


def greedy_by_approvals(
    approvals: Sequence[Collection[str]],
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None = None,
) -> list[str]:
    """Projects by approvals (ties: lower cost, then id), each bought if it still fits."""
    e = _prepare(approvals, costs, budget, weights)
    return _checked(e, _greedy_fill(e, [], by_cost=True))
