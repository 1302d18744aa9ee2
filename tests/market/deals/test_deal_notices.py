"""A vendor's answer reaches the admins; the co-op's counter-offer reaches the vendor's email."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Vendor
from market.deals import negotiation
from market.deals.negotiation import Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.notifications.models import Notification, OutboxMessage
from market.notifications.preferences import Unsubscribe, unsubscribe
from tests.market.deals.factories import make_deal
from tests.market.factories import make_member

COUNTER = Terms([Tier(1, 90)], 1, 12, "Our counter")


def test_vendor_offer_tells_admins_and_counter_emails_the_vendor(session: Session) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered")
    told = session.scalars(
        select(Notification).where(Notification.kind == "deal.vendor_answer")
    ).all()
    assert admin.id in {n.member_id for n in told}
    assert all(n.link == f"/admin/deals/{deal.id}" for n in told)
    vendor = session.get(Vendor, deal.vendor_id)
    assert vendor is not None
    vendor.contact_email = "sales@vendor.example"
    negotiation.make_offer(session, deal, Actor.ADMIN, COUNTER, member=admin)
    [mail] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "deal.counter")
    ).all()
    assert mail.to_email == "sales@vendor.example" and mail.member_id is None
    assert "counter-offer" in mail.body and "$0.90/seat from 1" in mail.body
    unsubscribe(session, Unsubscribe(None, "sales@vendor.example", "all"))
    negotiation.make_offer(session, deal, Actor.ADMIN, COUNTER, member=admin)
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deal.counter"))
    assert len(mails.all()) == 1  # the vendor asked for no more email


def test_no_contact_address_no_email(session: Session) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered")
    negotiation.make_offer(session, deal, Actor.ADMIN, COUNTER, member=admin)
    assert (
        session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deal.counter")).all()
        == []
    )
