"""What the results and "where my dues went" pages show, computed here (templates do no sums)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.models import RULE_LABELS, Round, RoundResult, Rule
from catalog.models import Channel

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


RULE_EXPLAINED = {
    Rule.INDEPENDENT_MARKETS: (
        "each channel gets the median of the members' shares for it and of a set of "
        '"phantom" values, moved together until the shares add up to exactly 100 % '
        "(Freeman et al. 2019). No member can bring the outcome closer to their own split "
        "by misstating it."
    ),
    Rule.CONSENSUS: (
        "each channel gets its k-th largest share among the ballots, with one k for all "
        "channels chosen so the shares add up to exactly 100 % (the rule of UBC's "
        "voter-funded media)."
    ),
    Rule.MEAN: "each channel gets the weighted average of the members' shares for it.",
}


def rule_explained(rule: str) -> str:
    """One sentence a member reads on how the rule turns splits into shares."""
    return RULE_EXPLAINED[Rule(rule)]


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
