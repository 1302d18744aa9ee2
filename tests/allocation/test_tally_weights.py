"""The tally's counts per weight, per channel and basis point, and its census, against the
ballots counted by hand: classes of different weights and a replaced ballot."""

from __future__ import annotations

from collections import Counter

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation.models import Ballot, ClassWeight
from allocation.tally import census, counts_by_weight
from tests.allocation.factories import open_round, vote
from tests.market.factories import make_member


def test_counts_per_weight_and_the_census_match_the_ballots(session: Session) -> None:
    classes = ["consumer", "consumer", "consumer", "worker", "worker", "worker"]
    voters = [make_member(session, member_class=cls) for cls in classes]
    rnd, chans = open_round(session, channels=3)  # the eligible: members before it opens
    a, b, c = (ch.id for ch in chans)
    session.merge(ClassWeight(round_id=rnd.id, member_class="worker", weight_milli=2500))
    splits = [
        {a: 10_000},
        {a: 2_500, b: 7_500},
        {a: 2_500, c: 7_500},
        {b: 10_000},
        {a: 2_500, b: 7_500},
        {a: 10_000},  # replaced below: only the last ballot counts
    ]
    for voter, split in zip(voters, splits, strict=True):
        vote(session, voter, rnd, split)
    splits[-1] = {c: 10_000}
    vote(session, voters[-1], rnd, splits[-1])
    session.flush()

    per_class, last = census(session, rnd.id)
    assert per_class == {"consumer": 3, "worker": 3}
    assert last == session.scalar(select(func.max(Ballot.cast_at)))

    ids = [a, b, c]
    counts = counts_by_weight(session, rnd.id, ids, lambda: per_class)
    assert sorted(counts) == [1000, 2500]
    for weight, cls in ((1000, "consumer"), (2500, "worker")):
        expected = np.zeros_like(counts[weight])
        mine = [split for k, split in zip(classes, splits, strict=True) if k == cls]
        for j, channel in enumerate(ids):
            seen = Counter(split.get(channel, 0) for split in mine)
            for bp, n in seen.items():
                expected[j, bp] = n
        assert (counts[weight] == expected).all(), cls
