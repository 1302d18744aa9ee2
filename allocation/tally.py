"""The tally: per-channel histograms aggregated in the database, then the pure rules.

Its cost grows with channels × distinct share values, not with members: the database does
one GROUP BY over the current ballots' shares and hands numpy an m × 10,001 table.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, not_, select, text
from sqlalchemy.orm import Session

from allocation.histogram import counts_from_arrays
from allocation.models import Ballot, BallotShare
from allocation.rounds import class_weights


def ballots_by_class(session: Session, round_id: int) -> dict[str, int]:
    """How many current, non-abstaining ballots each member class has in a round."""
    rows = session.execute(
        select(Ballot.member_class, func.count())
        .where(Ballot.round_id == round_id, Ballot.is_current, not_(Ballot.abstain))
        .group_by(Ballot.member_class)
    ).all()
    return {cls: int(n) for cls, n in rows}


def counts_by_weight(
    session: Session, round_id: int, channel_ids: list[int]
) -> dict[int, npt.NDArray[np.int64]]:
    """Integer counts per (weight, channel, bp) from one GROUP BY; classes of equal weight merge."""
    weights = class_weights(session, round_id)
    per_class = ballots_by_class(session, round_id)
    index = np.full(max(channel_ids) + 1, -1, dtype=np.int64)
    index[channel_ids] = np.arange(len(channel_ids))
    if session.get_bind().dialect.name == "postgresql":
        # Up to channels × 10,001 × classes groups: let the hash aggregate stay in memory
        # instead of spilling to disk at the default 4 MB (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    # Core, not ORM rows: up to channels × 10,000 × classes groups come back.
    rows = (
        session.connection()
        .execute(
            select(BallotShare.member_class, BallotShare.channel_id, BallotShare.bp, func.count())
            .where(BallotShare.round_id == round_id)
            .group_by(BallotShare.member_class, BallotShare.channel_id, BallotShare.bp)
        )
        .all()
    )
    ballots: dict[int, int] = defaultdict(int)
    for cls, n in per_class.items():
        ballots[weights.get(cls, 1000)] += n
    by_weight: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for cls, cid, bp, n in rows:
        by_weight[weights.get(cls, 1000)].append((cid, bp, n))
    out = {}
    for w in sorted(ballots):
        table = np.array(by_weight[w], dtype=np.int64).reshape(-1, 3)
        out[w] = counts_from_arrays(
            len(channel_ids), ballots[w], index[table[:, 0]], table[:, 1], table[:, 2]
        )
    return out
