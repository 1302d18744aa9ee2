"""The demo's decision (STORY.md, step 6), built through the proposal services."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.discussions.services import Subject, post_comment
from market.members.models import Member
from market.proposals.models import Proposal
from market.proposals.services import close_due, start_proposal, take_position, write_outcome

OPS_TITLE = "Raise the operations share to 12 % to fund support"
OPS_BODY = """\
Members ask for help more often than our two volunteers can answer. This proposal raises the
**operations share** of dues from 10 % to **12 %** from next month, to pay for a part-time
support worker.

- The pool for channels goes from 90 % to 88 % of dues.
- The operations reserve would grow by about $30 a month at today's membership.
- We review the decision after six months.
"""
OPS_OUTCOME = (
    "Not adopted as proposed. Twenty members agreed, four disagreed, and one member blocked: "
    "the reserve already covers a year of operations. The proposal is flagged for discussion: "
    "at the next general meeting the board brings a revised plan that funds support from the "
    "reserve's surplus for six months, then asks again."
)
DISAGREE = [
    "The pool should not shrink while we are still growing.",
    "Fund support from the reserve first.",
    "2 % is a lot; try 11 % first.",
    "Volunteers have been fine so far.",
]
CHANNEL_TITLE = "Admit a fifth channel: Learn Things (courses and tutorials)"
CHANNEL_BODY = """\
*Learn Things* bundles course platforms and tutorial sites. Admitting it lets members put
part of their split behind learning. Its steward has agreed to the co-op's channel contract.
"""


def _demo_members(session: Session, numbers: range, now: datetime) -> list[Member]:
    emails = [f"member{i:03d}@commons.example" for i in numbers]
    found = session.scalars(select(Member).where(Member.email.in_(emails)).order_by(Member.email))
    # The dues chapter has charged everyone; only members in good standing may take part.
    return [m for m in found if m.in_good_standing(now)]


DISCUSSION = [
    "Could support be paid from the reserve's surplus first, for six months?",
    "I blocked because the reserve already covers a year. "
    "Six months from the surplus works for me.",
    "Agreed. Let's see the numbers at the general meeting.",
]


def _demo_discussion(
    session: Session, proposal: Proposal, author: Member, voters: list[Member], opened: datetime
) -> None:
    """The blocked proposal's thread: a question, the blocker's answer, a reply to it."""
    subject = Subject("proposal", proposal.id, proposal.title, f"/decisions/{proposal.id}")
    when = opened + timedelta(days=8, hours=2)
    first = post_comment(session, voters[0], subject, DISCUSSION[0], now=when)
    answer = post_comment(
        session, voters[-1], subject, DISCUSSION[1], first.id, now=when + timedelta(hours=3)
    )
    post_comment(session, author, subject, DISCUSSION[2], answer.id, now=when + timedelta(hours=5))


def chapter_decisions(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """A decision: the 12 % operations share (blocked, flagged for discussion) and one open."""
    people = _demo_members(session, range(0, 30), now)
    author, voters = people[12], people[:12] + people[13:26]
    opened = now - timedelta(days=12)
    ops = start_proposal(
        session, author, OPS_TITLE, OPS_BODY, opened + timedelta(days=7), now=opened
    )
    stances = ["agree"] * 20 + ["disagree"] * 4 + ["block"]
    for i, (member, stance) in enumerate(zip(voters, stances, strict=True)):
        when = opened + timedelta(hours=2 + 5 * i)
        if stance == "block":
            reason: str | None = "The reserve already covers a year."
        elif stance == "disagree":
            reason = DISAGREE[i % len(DISAGREE)]
        else:
            reason = rng.choice([None, None, "Support matters.", "Worth it for new members."])
        take_position(session, member, ops, stance, reason, now=when)
    close_due(session, now=opened + timedelta(days=7, minutes=5))
    write_outcome(session, author, ops, OPS_OUTCOME, now=opened + timedelta(days=8))
    _demo_discussion(session, ops, author, voters, opened)

    started = now - timedelta(days=2)
    learn = start_proposal(
        session,
        people[20],
        CHANNEL_TITLE,
        CHANNEL_BODY,
        now + timedelta(days=9),
        now=started,
    )
    for i, stance in enumerate(["agree"] * 5 + ["abstain"] * 2 + ["disagree"]):
        reason = "Four channels are enough for now." if stance == "disagree" else None
        take_position(session, people[i], learn, stance, reason, now=started + timedelta(hours=i))
