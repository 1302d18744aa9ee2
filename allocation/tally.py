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
        rows = _groups_postgresql(session, round_id)
    else:
        # Core, not ORM rows: up to channels × 10,000 × classes groups come back.
        rows = [
            (cls, cid, np.array([bp]), np.array([n]))
            for cls, cid, bp, n in session.connection().execute(
                select(
                    BallotShare.member_class, BallotShare.channel_id, BallotShare.bp, func.count()
                )
                .where(BallotShare.round_id == round_id)
                .group_by(BallotShare.channel_id, BallotShare.bp, BallotShare.member_class)
            )
        ]
    ballots: dict[int, int] = defaultdict(int)
    for cls, n in per_class.items():
        ballots[weights.get(cls, 1000)] += n
    parts: dict[int, list[tuple[int, Ints, Ints]]] = defaultdict(list)
    for cls, cid, bps, ns in rows:
        parts[weights.get(cls, 1000)].append((cid, bps, ns))
    out = {}
    for w in sorted(ballots):
        got = parts[w]
        none: Ints = np.zeros(0, dtype=np.int64)
        cids = np.concatenate([none] + [np.full(len(b), c, dtype=np.int64) for c, b, _ in got])
        bps = np.concatenate([none] + [b for _, b, _ in got]).astype(np.int64)
        ns = np.concatenate([none] + [n for _, _, n in got]).astype(np.int64)
        out[w] = counts_from_arrays(len(channel_ids), ballots[w], index[cids], bps, ns)
    return out


Ints = npt.NDArray[np.int64]


def _groups_postgresql(session: Session, round_id: int) -> list[tuple[str, int, Ints, Ints]]:
    """(class, channel, bp values, counts) from an index-only scan of the tally index.

    Counted in the index's order (a sorted group count, never a hash table that spills to
    disk), and handed back as one text of "bp count" pairs per class and channel: up to
    240,000 groups cost a couple of dozen rows to fetch, parsed by numpy.
    """
    session.execute(text("SET LOCAL enable_hashagg = off"))  # this transaction only
    rows = session.execute(
        text(
            "SELECT member_class, channel_id, string_agg(bp || ' ' || n, ' ') FROM ("
            " SELECT member_class, channel_id, bp, count(*) AS n FROM ballot_share"
            " WHERE round_id = :r GROUP BY channel_id, bp, member_class) AS g"
            " GROUP BY member_class, channel_id"
        ),
        {"r": round_id},
    ).all()
    out = []
    for cls, cid, pairs in rows:
        table = np.array(pairs.split(), dtype=np.int64).reshape(-1, 2)
        out.append((str(cls), int(cid), table[:, 0], table[:, 1]))
    return out
