"""Approval elections for the indivisible rules: validated, with equal ballots grouped.

Voters with identical ballots always hold identical budgets in MES, so every rule here runs
on groups of equal ballots (``group_weight``) and, per project, the groups approving it
(``supporters``, ascending, with their weights ``supporter_weight``). Projects are indexed
in id order (as strings), so the lowest index wins ties.

Costs and the budget are kept exact too, scaled to integers by one common denominator
(``int_cost``, ``int_budget``), so "does it fit?" is integer arithmetic, never a float.
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
CodeArray = npt.NDArray[np.integer]  # project indices, in the smallest integer type that fits
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ApprovalElection:
    """Validated input of an indivisible rule, grouped by distinct ballot."""

    ids: list[str]
    cost: FloatArray
    exact_cost: list[Fraction]
    int_cost: list[int]  # exact_cost * scale, exact integers
    budget: Fraction
    int_budget: int  # floor(budget * scale): an outcome fits iff its int cost <= this
    total_weight: float
    approval_weight: FloatArray  # weight approving each project (exactly rounded sum)
    group_weight: FloatArray  # weight of each distinct ballot
    supporters: list[IntArray]  # groups approving each project, ascending
    supporter_weight: list[FloatArray]  # their weights, aligned with supporters


def exact(value: object, what: str) -> Fraction:
    """The number as an exact Fraction, or ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return Fraction(value)


def _first(approvals: Sequence[Collection[str]], key: object) -> int:
    """Index of the first ballot equal to key (only used to name a ballot in an error)."""
    return next(i for i, b in enumerate(approvals) if b == key or tuple(b) == key)


def _hashable(ballot: Collection[str]) -> object:
    return ballot if isinstance(ballot, tuple | frozenset | str) else tuple(ballot)


def _raw_groups(
    approvals: Sequence[Collection[str]], weights: Sequence[float] | None
) -> Mapping[object, float]:
    """Total weight per distinct ballot as given (before mapping ids to indices)."""
    if weights is None:
        # Counter runs in C: real elections repeat ballots a lot.
        counts: Counter[object]
        try:
            counts = Counter(approvals)  # type: ignore[arg-type]
        except TypeError:  # lists or sets are not hashable: key them by tuple
            counts = Counter(map(_hashable, approvals))
        return counts  # integer counts: every sum of them below is exact
    if len(weights) != len(approvals):
        raise ValueError(f"weights must have one entry per ballot ({len(approvals)})")
    raw: dict[object, list[float]] = {}
    for i, (ballot, weight) in enumerate(zip(approvals, weights, strict=True)):
        w = float(weight)
        if not (w >= 0 and math.isfinite(w)):
            raise ValueError(f"ballot {i}: weight {w!r} is not a finite number >= 0")
        raw.setdefault(_hashable(ballot), []).append(w)
    # fsum rounds once, so a group's weight does not depend on the ballots' order.
    return {k: math.fsum(ws) for k, ws in raw.items()}


def _indices(flat: list[str], index: Mapping[str, int]) -> CodeArray:
    """Each id's project index (KeyError on an unknown id), as small an integer as fits."""
    if len(index) <= 256:
        # One byte per id: joining one-character strings and copying out their latin-1 bytes
        # runs in C, a little faster than converting one Python int per id.
        code = {pid: chr(j) for pid, j in index.items()}
        text = "".join(map(code.__getitem__, flat))
        return np.frombuffer(text.encode("latin-1"), dtype=np.uint8)
    dtype = np.int16 if len(index) < 2**15 else np.intp
    return np.fromiter(map(index.__getitem__, flat), dtype=dtype, count=len(flat))


def _incidence(
    approvals: Sequence[Collection[str]], index: Mapping[str, int], weights: Sequence[float] | None
) -> tuple[FloatArray, IntArray, CodeArray]:
    """Weight of each distinct ballot, and its approvals as (group, project) pairs by project."""
    raw = _raw_groups(approvals, weights)
    keys = list(raw)
    if any(issubclass(kind, str) for kind in set(map(type, keys))):  # one test per type
        wrong = next(k for k in keys if isinstance(k, str))
        raise ValueError(f"ballot {_first(approvals, wrong)}: must be a collection of ids")
    lens = np.fromiter(map(len, keys), dtype=np.intp, count=len(keys))  # type: ignore[arg-type]
    flat: list[str] = list(chain.from_iterable(keys))  # type: ignore[arg-type]
    try:
        proj = _indices(flat, index)
    except KeyError as exc:
        bad = next(k for k in keys if exc.args[0] in k)  # type: ignore[operator]
        raise ValueError(
            f"ballot {_first(approvals, bad)}: unknown project id {exc.args[0]!r}"
        ) from None
    group = np.repeat(np.arange(len(keys), dtype=np.intp), lens)
    # A stable sort by project keeps each project's groups ascending (a radix sort on bytes).
    order = np.argsort(proj, kind="stable")
    group, proj = group[order], proj[order]
    twice = (group[1:] == group[:-1]) & (proj[1:] == proj[:-1])
    if twice.any():
        bad_key = keys[int(group[1:][twice][0])]
        raise ValueError(f"ballot {_first(approvals, bad_key)}: approves a project more than once")
    group_weight = np.fromiter(raw.values(), dtype=np.float64, count=len(keys))
    if weights is not None:  # (counts are >= 1)
        keep = group_weight[group] > 0
        if not keep.all():
            group, proj = group[keep], proj[keep]
    return group_weight, group, proj


def _scaled(costs: list[Fraction], budget: Fraction) -> tuple[list[int], int]:
    """Costs as exact integers over one common denominator, and the budget floored to it."""
    scale = math.lcm(*(c.denominator for c in costs), budget.denominator)
    # Integer arithmetic only (no Fraction products): c * scale is an exact integer.
    scaled = [c.numerator * (scale // c.denominator) for c in costs]
    return scaled, budget.numerator * scale // budget.denominator


def prepare(
    approvals: Sequence[Collection[str]],
    costs: Mapping[str, Number],
    budget: Number,
    weights: Sequence[float] | None,
) -> ApprovalElection:
    """Validate the input (ValueError naming the culprit) and group equal ballots."""
    ids = sorted(costs)
    for pid in ids:
        if not isinstance(pid, str):
            raise ValueError(f"project ids must be strings, got {pid!r}")
    exact_cost = [exact(costs[pid], f"cost of project {pid!r}") for pid in ids]
    for pid, c in zip(ids, exact_cost, strict=True):
        if c <= 0:
            raise ValueError(f"project {pid!r}: cost must be > 0, got {costs[pid]!r}")
    exact_budget = exact(budget, "budget")
    if exact_budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget!r}")
    index = {pid: j for j, pid in enumerate(ids)}
    group_weight, group, proj = _incidence(approvals, index, weights)
    ends: list[int] = np.cumsum(np.bincount(proj, minlength=len(ids))).tolist()
    spans = list(zip([0, *ends[:-1]], ends, strict=True))
    weight_of = group_weight[group]  # aligned with group: each project's slice is its weights
    supporters = [group[a:b] for a, b in spans]
    if weights is None:  # integer counts: bincount's sums are exact, whatever the order
        approval = np.bincount(proj, weights=weight_of, minlength=len(ids))
        total = float(group_weight.sum())
    else:  # fsum rounds once, so approval weights do not depend on the order of the groups
        approval = np.array([math.fsum(group_weight[g].tolist()) for g in supporters])
        total = math.fsum(group_weight.tolist())
    int_cost, int_budget = _scaled(exact_cost, exact_budget)
    return ApprovalElection(
        ids=ids,
        cost=np.array([float(c) for c in exact_cost], dtype=np.float64),
        exact_cost=exact_cost,
        int_cost=int_cost,
        budget=exact_budget,
        int_budget=int_budget,
        total_weight=total,
        approval_weight=approval.astype(np.float64).reshape(len(ids)),
        group_weight=group_weight,
        supporters=supporters,
        supporter_weight=[weight_of[a:b] for a, b in spans],
    )
