"""The tally: per-channel histograms aggregated in the database, then the pure rules.

Its cost grows with channels × distinct share values, not with members: the database does
one GROUP BY over the current ballots' shares and hands numpy an m × 10,001 table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, and_, func, not_, select, text
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


def census(session: Session | Connection, round_id: int) -> tuple[dict[str, int], datetime | None]:
    """`ballots_by_class` and the moment the round's last ballot (of any kind) was cast, in
    one scan of the round's ballots (the close needs both; each scan is a million rows)."""
    counted = and_(Ballot.is_current, not_(Ballot.abstain))
    rows = session.execute(
        select(Ballot.member_class, func.count().filter(counted), func.max(Ballot.cast_at))
        .where(Ballot.round_id == round_id)
        .group_by(Ballot.member_class)
    ).all()
    last = max((cast_at for _cls, _n, cast_at in rows if cast_at is not None), default=None)
    return {str(cls): int(n) for cls, n, _at in rows if n}, last


def counts_by_weight(
    session: Session,
    round_id: int,
    channel_ids: list[int],
    per_class: Callable[[], dict[str, int]] | None = None,
) -> dict[int, npt.NDArray[np.int64]]:
    """Integer counts per (weight, channel, bp) from one GROUP BY; classes of equal weight
    merge. `per_class()`: `ballots_by_class`, asked for once the groups are read (so it
    can be read meanwhile on another connection)."""
    weights = class_weights(session, round_id)
    index = np.full(max(channel_ids) + 1, -1, dtype=np.int64)
    index[channel_ids] = np.arange(len(channel_ids))
    if session.get_bind().dialect.name == "postgresql":
        rows = _groups_postgresql(session, round_id, weights)
    else:
        # Core, not ORM rows: up to channels × 10,000 × classes groups come back.
        rows = [
            (weights.get(cls, 1000), cid, np.array([bp]), np.array([n]))
            for cls, cid, bp, n in session.connection().execute(
                select(
                    BallotShare.member_class, BallotShare.channel_id, BallotShare.bp, func.count()
                )
                .where(BallotShare.round_id == round_id)
                .group_by(BallotShare.channel_id, BallotShare.bp, BallotShare.member_class)
            )
        ]
    ballots: dict[int, int] = defaultdict(int)
    counted = per_class() if per_class is not None else ballots_by_class(session, round_id)
    for cls, n in counted.items():
        ballots[weights.get(cls, 1000)] += n
    parts: dict[int, list[tuple[int, Ints, Ints]]] = defaultdict(list)
    for w, cid, bps, ns in rows:
        parts[w].append((cid, bps, ns))
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


def _groups_postgresql(
    session: Session, round_id: int, weights: dict[str, int]
) -> list[tuple[int, int, Ints, Ints]]:
    """(weight, channel, bp values, counts) from an index-only scan of the tally index.

    Counted in the index's order (a sorted group count, never a hash table that spills to
    disk), and handed back as one text of "class bp count" triples per channel, the class
    by its place among the round's weighted classes (-1: any other, which weighs 1000): up
    to 240,000 groups cost a dozen rows to fetch, parsed by numpy, and grouping them by
    channel alone keeps the index's order, so nothing is sorted.
    """
    session.execute(text("SET LOCAL enable_hashagg = off"))  # this transaction only
    classes = sorted(weights)
    which = "".join(f" WHEN :c{i} THEN {i}" for i in range(len(classes)))
    rows = session.execute(
        text(
            "SELECT channel_id, string_agg(k || ' ' || bp || ' ' || n, ' ') FROM ("
            f" SELECT channel_id, bp, CASE member_class{which} ELSE -1 END AS k,"
            " count(*) AS n FROM ballot_share WHERE round_id = :r"
            " GROUP BY channel_id, bp, member_class) AS g GROUP BY channel_id"
        ),
        {"r": round_id, **{f"c{i}": cls for i, cls in enumerate(classes)}},
    ).all()
    out = []
    for cid, triples in rows:
        table = np.array(triples.split(), dtype=np.int64).reshape(-1, 3)
        for k in np.unique(table[:, 0]).tolist():
            mine = table[table[:, 0] == k]
            out.append((weights[classes[k]] if k >= 0 else 1000, int(cid), mine[:, 1], mine[:, 2]))
    return out
