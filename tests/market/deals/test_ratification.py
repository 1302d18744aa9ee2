"""A ratification binds the exact offer: tiers, term and total commitment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.deals import negotiation
from market.deals.models import Commitment, Deal
from market.deals.negotiation import Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.members.models import Member
from market.proposals.models import Position, Proposal
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel, make_deal
from tests.market.factories import login_as, make_member


def _admin_client(make_app: Callable[..., Flask], admin: Member) -> FlaskClient:
    return login_as(make_app(RATIFY_ABOVE_CENTS=1000).test_client(), admin)


def _ratify(session: Session, client: FlaskClient, deal: Deal) -> Proposal:
    """Put the latest terms to the members, who agree 2 to 1; the vote closes."""
    closes = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(f"/admin/deals/{deal.id}/ratify", data={"closes_at": closes}).status_code == 302
    )
    proposal = session.scalars(select(Proposal).order_by(Proposal.id.desc())).first()
    assert proposal is not None
    for stance in ["agree", "agree", "disagree"]:
        session.add(
            Position(proposal_id=proposal.id, member_id=make_member(session).id, stance=stance)
        )
    proposal.closes_at = utcnow() - timedelta(minutes=1)
    session.flush()
    return proposal


def test_other_terms_after_ratification_need_their_own_vote(
    make_app: Callable[..., Flask], session: Session
) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered", group_buy=False)
    client = _admin_client(make_app, admin)
    proposal = _ratify(session, client, deal)
    assert "total commitment of **$648.00**" in proposal.body  # $54.00 x 12 months
    # The vendor swaps in a far bigger offer before the admin accepts.
    negotiation.make_offer(session, deal, Actor.VENDOR, Terms([Tier(1, 10_000)], 1, 60))
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409
    assert "need their own vote" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Deal, deal.id).status == "offered"  # type: ignore[union-attr]
    # Only a longer term, same prices: still other terms.
    same_prices = Terms([Tier(1, 120), Tier(50, 90), Tier(150, 70)], 50, 24)
    negotiation.make_offer(session, deal, Actor.VENDOR, same_prices)
    assert client.post(f"/admin/deals/{deal.id}/accept").status_code == 409
    # Members ratify the new terms: now it can be accepted.
    _ratify(session, client, deal)
    assert client.post(f"/admin/deals/{deal.id}/accept").status_code == 302
    session.expire_all()
    assert session.get(Deal, deal.id).status == "accepted"  # type: ignore[union-attr]


def test_the_vendor_returning_to_the_ratified_terms_needs_no_second_vote(
    make_app: Callable[..., Flask], session: Session
) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered", group_buy=False)
    client = _admin_client(make_app, admin)
    _ratify(session, client, deal)
    negotiation.make_offer(session, deal, Actor.VENDOR, Terms([Tier(1, 10_000)], 1, 60))
    story = Terms([Tier(1, 120), Tier(50, 90), Tier(150, 70)], 50, 12)
    negotiation.make_offer(session, deal, Actor.VENDOR, story)
    assert client.post(f"/admin/deals/{deal.id}/accept").status_code == 302


def test_a_group_buy_cannot_commit_more_than_members_ratified(
    make_app: Callable[..., Flask], session: Session
) -> None:
    admin = make_member(session, admin=True)
    channel = make_channel(session)
    fund_channel(session, channel, 1_000_000)
    deal, _ = make_deal(
        session, admin=admin, channel=channel, stage="offered", min_members=50, seats_wanted=50
    )
    client = _admin_client(make_app, admin)
    _ratify(session, client, deal)  # 50 seats x $0.90 x 12 = $540 in all
    assert client.post(f"/admin/deals/{deal.id}/accept").status_code == 302
    members = [make_member(session) for _ in range(300)]
    session.add_all(Commitment(deal_id=deal.id, member_id=m.id) for m in members)
    session.flush()
    settle = client.post(f"/admin/deals/{deal.id}/settle")
    assert settle.status_code == 409
    assert "ratified a total commitment of $540.00" in settle.get_data(as_text=True)
    session.expire_all()
    assert session.get(Deal, deal.id).status == "accepted"  # type: ignore[union-attr]


def test_a_ratification_that_recorded_no_terms_binds_nothing(
    make_app: Callable[..., Flask], session: Session
) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered", group_buy=False)
    client = _admin_client(make_app, admin)
    proposal = _ratify(session, client, deal)
    proposal.terms = None  # as written before ratifications recorded their terms
    session.flush()
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409 and "No proposal ratifies offer" in refused.get_data(
        as_text=True
    )
