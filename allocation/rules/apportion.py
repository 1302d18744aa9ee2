"""Turn a split into integer cents by largest remainder (Hamilton), exactly.

The apportionment itself is the kernel's (`market.money.largest_remainder`, the same one
the books use); this module turns a rule's shares into its exact integer weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction
from math import lcm
from typing import Any

import numpy as np
import numpy.typing as npt

from allocation.rules.divisible import BASIS_POINTS, TOLERANCE
from market.money import largest_remainder


def _exact_parts(shares: npt.ArrayLike) -> list[Fraction]:
    x = np.asarray(shares)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"shares must be a non-empty 1-D sequence, got shape {x.shape}")
    if x.dtype.kind in "iu":
        if (x < 0).any() or int(x.sum()) != BASIS_POINTS:
            raise ValueError(f"integer shares are basis points >= 0 summing to 10000: {x}")
        return [Fraction(int(v), BASIS_POINTS) for v in x]
    if x.dtype.kind != "f":
        raise ValueError(f"shares must be floats or integer basis points, not {x.dtype}")
    for j, v in enumerate(x.tolist()):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"share for channel {j} is not a finite number >= 0 ({v!r})")
    if abs(float(x.sum()) - 1.0) > TOLERANCE:
        raise ValueError(f"shares sum to {float(x.sum())!r}, not 1 (tolerance {TOLERANCE:g})")
    # Floats are exact dyadic rationals; dividing by their exact sum only removes the float
    # dust of the rule's arithmetic (at most TOLERANCE), so the quotas sum to the pool exactly.
    exact = [Fraction(v) for v in x.tolist()]
    total = sum(exact, Fraction(0))
    return [v / total for v in exact]


def apportion_cents(
    shares: npt.ArrayLike, pool_cents: int, tie_ids: Sequence[Hashable] | None = None
) -> list[int]:
    """Split pool_cents by largest remainder; equal remainders go to the smaller channel id."""
    if isinstance(pool_cents, bool) or not isinstance(pool_cents, int | np.integer):
        raise ValueError(f"pool must be an integer number of cents, got {pool_cents!r}")
    pool = int(pool_cents)
    if pool < 0:
        raise ValueError(f"pool must be >= 0 cents, got {pool}")
    parts = _exact_parts(shares)
    ids: Sequence[Any] = list(range(len(parts))) if tie_ids is None else tie_ids
    if len(ids) != len(parts):
        raise ValueError(f"{len(ids)} tie ids for {len(parts)} shares")
    if len(set(ids)) != len(ids):
        raise ValueError("tie ids must be unique")
    # The kernel gives equal remainders to the earlier index: order the parts by tie id.
    order = sorted(range(len(parts)), key=lambda j: ids[j])
    scale = lcm(*(p.denominator for p in parts))
    weights = [int(parts[j] * scale) for j in order]  # exact: scale is a common denominator
    cents = [0] * len(parts)
    for j, share in zip(order, largest_remainder(pool, weights), strict=True):
        cents[j] = share
    assert sum(cents) == pool and min(cents) >= 0
    return cents
