"""The demo's dues chapter: months of paid dues, booked through the webhook's own path.

No Stripe calls: synthetic customers, subscriptions and invoices (ids *_demo_*) are fed to
`news.fulfil`, exactly as a webhook would feed the real ones. The months are the last
three and the current one; this month's story (charges on the 1st, a payment on the 5th, a
retry on the 20th) only goes as far as `now`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing import news, services
from market.clock import month_start, next_period, period_of, shift_period
from market.members.models import Member

PAID_MONTHS = 4  # the last three months and the current one
DECLINED = ("member010@commons.example", "member011@commons.example")  # the first pays on day 5
LEAVER = "member299@commons.example"  # cancels last month, at the end of the period
NIA = "nia@commons.example"  # joins and pays this month


def _story(month: str, day: int) -> datetime:
    """9:00 on a day of the month: when the story has Stripe tell us something."""
    return month_start(month) + timedelta(days=day - 1, hours=9)


def _ts(month: str, day: int, now: datetime) -> int:
    """That moment in epoch seconds (as Stripe sends them), or `now` if it has not come yet."""
    return int(min(_story(month, day), now).timestamp())


def _sub(member: Member, month: str, status: str = "active", ending: bool = False) -> dict:
    return {
        "id": f"sub_demo_{member.id}",
        "customer": f"cus_demo_{member.id}",
        "status": status,
        "cancel_at_period_end": ending,
        "current_period_end": int(month_start(next_period(month)).timestamp()),
    }


def _invoice(member: Member, month: str, start: int, paid: bool = True) -> dict[str, Any]:
    return {
        "id": f"in_demo_{member.id}_{month}",
        "customer": f"cus_demo_{member.id}",
        "subscription": f"sub_demo_{member.id}",
        "currency": "usd",
        "amount_paid": 500 if paid else 0,
        "amount_due": 500,
        "billing_reason": "subscription_cycle",
        "created": start,
        "period_start": start,
        "status_transitions": {"paid_at": start if paid else None},
    }


def months(now: datetime) -> list[str]:
    """The months the demo's members have paid for, oldest first (the last is the current)."""
    current = period_of(now)
    return [shift_period(current, k + 1 - PAID_MONTHS) for k in range(PAID_MONTHS)]


def _first_month(member: Member, index: int, paid: list[str]) -> str:
    if member.email == NIA:
        return paid[-1]
    return paid[0] if index < 260 else paid[1] if index < 280 else paid[2]


def chapter_dues(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Dues: the last three months and this one paid by card; two declines this month."""
    cfg = services.settings()
    paid = months(now)
    people = session.scalars(select(Member).order_by(Member.id)).all()
    for index, member in enumerate(people):
        account = services.link_customer(session, member, f"cus_demo_{member.id}")
        first = _first_month(member, index, paid)
        for month in paid[paid.index(first) :]:
            if member.email == LEAVER and month == paid[-1]:
                _leave(session, account, member, cfg, paid[-2], now)
                break
            if member.email in DECLINED and month == paid[-1]:
                _decline(session, account, member, cfg, month, now)
                continue
            day = 12 if member.email == NIA else 1  # Nia joins on the 12th (or today)
            at = _ts(month, day, now)
            news.fulfil(
                session,
                account,
                seen_at=at,
                cfg=cfg,
                subscription=_sub(member, month),
                invoice=_invoice(member, month, at),
            )
    session.flush()


def _leave(
    session: Session,
    account: Any,
    member: Member,
    cfg: services.DuesSettings,
    last: str,
    now: datetime,
) -> None:
    """The leaver cancels on the 20th of last month; the subscription ends with the period."""
    ending = _sub(member, last, ending=True)
    at = _ts(last, 20, now)
    news.fulfil(session, account, seen_at=at, cfg=cfg, subscription=ending)
    gone = _sub(member, last, "canceled", ending=True)
    at = _ts(next_period(last), 1, now)
    news.fulfil(session, account, seen_at=at, cfg=cfg, subscription=gone)


def _decline(
    session: Session,
    account: Any,
    member: Member,
    cfg: services.DuesSettings,
    month: str,
    now: datetime,
) -> None:
    """This month's charge fails; member010 pays on the 5th, member011's retry fails on the 20th.

    What has not happened yet by `now` (the 5th, the 20th) is left out.
    """
    charged = _ts(month, 1, now)
    failed = _invoice(member, month, charged, paid=False)
    news.fulfil(session, account, seen_at=charged, cfg=cfg, invoice=failed, invoice_event="failed")
    day = 5 if member.email == DECLINED[0] else 20
    if _story(month, day) > now:
        return
    later = _ts(month, day, now)
    if member.email == DECLINED[0]:
        paid = {**failed, "amount_paid": 500, "status_transitions": {"paid_at": later}}
        news.fulfil(session, account, seen_at=later, cfg=cfg, invoice=paid)
    else:
        news.fulfil(
            session, account, seen_at=later, cfg=cfg, invoice=failed, invoice_event="failed"
        )
