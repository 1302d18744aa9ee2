"""What the results and "where my dues went" pages show, computed here (templates do no sums)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import splits
from allocation.models import RULE_LABELS, Ballot, Round, RoundResult, RoundStatus, Rule
from catalog.models import Channel
from market.money import Money, fee_split, format_bp, largest_remainder

CHART_WIDTH = 640
LABEL_WIDTH = 150
BAR_HEIGHT = 22
BAR_GAP = 14


@dataclass(frozen=True)
class Row:
    """One channel's line in the results: outcome and mean, with chart geometry."""

    channel_id: int
    name: str
    share_pct: str
    cents: int
    mean_pct: str
    mean_cents: int
    y: int
    bar_width: int
    mean_width: int
    label_y: int


@dataclass(frozen=True)
class Results:
    """A published round's results page."""

    round: Round
    rule_label: str
    rows: list[Row]
    turnout_pct: str
    chart_height: int
    chart_width: int
    label_width: int


def pct(share: float) -> str:
    """A share as a percentage with two decimals."""
    return f"{share * 100:.2f} %"


def rule_label(rule: str) -> str:
    """The human name of a rule."""
    return RULE_LABELS[Rule(rule)]


def turnout(rnd: Round) -> str:
    """Ballots counted over eligible members, as a percentage."""
    if not rnd.eligible_count:
        return "—"
    return f"{100 * (rnd.ballots_counted or 0) / rnd.eligible_count:.0f} %"


def results_for(session: Session, rnd: Round) -> Results:
    """Rows for the table and bar geometry for the server-rendered SVG chart."""
    rows_db = session.execute(
        select(RoundResult, Channel.name)
        .join(Channel, Channel.id == RoundResult.channel_id)
        .where(RoundResult.round_id == rnd.id)
        .order_by(RoundResult.cents.desc(), Channel.id)
    ).all()
    top = max([max(r.share, r.mean_share) for r, _ in rows_db] or [1.0]) or 1.0
    span = CHART_WIDTH - LABEL_WIDTH - 70
    rows = []
    for i, (r, name) in enumerate(rows_db):
        y = 10 + i * (BAR_HEIGHT + BAR_GAP)
        rows.append(
            Row(
                channel_id=r.channel_id,
                name=name,
                share_pct=pct(r.share),
                cents=r.cents,
                mean_pct=pct(r.mean_share),
                mean_cents=r.mean_cents,
                y=y,
                bar_width=max(1, round(span * r.share / top)),
                mean_width=max(1, round(span * r.mean_share / top)),
                label_y=y + BAR_HEIGHT // 2 + 5,
            )
        )
    return Results(
        round=rnd,
        rule_label=rule_label(rnd.rule),
        rows=rows,
        turnout_pct=turnout(rnd),
        chart_height=20 + len(rows) * (BAR_HEIGHT + BAR_GAP),
        chart_width=CHART_WIDTH,
        label_width=LABEL_WIDTH,
    )


@dataclass(frozen=True)
class DuesLine:
    """One channel on the member's dues page."""

    name: str
    outcome_cents: int
    asked_pct: str
    asked_cents: int


@dataclass(frozen=True)
class DuesTrail:
    """A member's fee → pool share → channels under a round's outcome, and what they asked."""

    round: Round
    fee_cents: int
    pool_part_cents: int
    ops_cents: int
    lines: list[DuesLine]
    voted: bool
    abstained: bool


def dues_trail(
    session: Session, member_id: int, fee_cents: int, ops_share_bp: int
) -> DuesTrail | None:
    """Where one member's monthly fee went in the latest published round (None if none yet)."""
    rnd = session.scalar(
        select(Round)
        .where(Round.status == RoundStatus.PUBLISHED)
        .order_by(Round.period.desc())
        .limit(1)
    )
    if rnd is None:
        return None
    parts = fee_split(Money(fee_cents, rnd.currency), ops_share_bp)
    ops, pool_part = parts.reserve.cents, parts.pool.cents
    results = session.execute(
        select(RoundResult, Channel.name)
        .join(Channel, Channel.id == RoundResult.channel_id)
        .where(RoundResult.round_id == rnd.id)
        .order_by(Channel.id)
    ).all()
    ballot = session.scalar(
        select(Ballot).where(
            Ballot.round_id == rnd.id, Ballot.member_id == member_id, Ballot.is_current
        )
    )
    asked = splits.parse(ballot.split) if ballot is not None else {}
    outcome = (
        largest_remainder(pool_part, [r.cents for r, _ in results])
        if results and sum(r.cents for r, _ in results) > 0
        else [0] * len(results)
    )
    mine = (
        largest_remainder(pool_part, [asked.get(r.channel_id, 0) for r, _ in results])
        if asked
        else [0] * len(results)
    )
    lines = [
        DuesLine(name, out, format_bp(asked.get(r.channel_id, 0)), my)
        for (r, name), out, my in zip(results, outcome, mine, strict=True)
    ]
    return DuesTrail(
        round=rnd,
        fee_cents=fee_cents,
        pool_part_cents=pool_part,
        ops_cents=ops,
        lines=lines,
        voted=bool(asked),
        abstained=ballot is not None and ballot.abstain,
    )
