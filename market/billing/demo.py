"""The demo's dues chapter: months of paid dues, booked through the webhook's own path.

No Stripe calls: synthetic customers, subscriptions and invoices (ids *_demo_*) are fed to
`services.fulfil`, exactly as a webhook would feed the real ones.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing import services
from market.members.models import Member

MONTHS = ["2026-08", "2026-09", "2026-10", "2026-11"]
DECLINED = ("member010@commons.example", "member011@commons.example")  # the first pays on day 5
LEAVER = "member299@commons.example"  # cancels in October, at the end of the period
NIA = "nia@commons.example"  # joins and pays in November


def _ts(month: str, day: int = 1) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return int(datetime(year, mon, day, 9, tzinfo=UTC).timestamp())


def _next(month: str) -> str:
    return MONTHS[MONTHS.index(month) + 1] if month != MONTHS[-1] else "2026-12"


def _sub(member: Member, month: str, status: str = "active", ending: bool = False) -> dict:
    return {
        "id": f"sub_demo_{member.id}",
        "customer": f"cus_demo_{member.id}",
        "status": status,
        "cancel_at_period_end": ending,
        "current_period_end": _ts(_next(month)),
    }


def _invoice(member: Member, month: str, day: int = 1, paid: bool = True) -> dict[str, Any]:
    start = _ts(month, day)
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
        "status_transitions": {"paid_at": start + 60 if paid else None},
    }


def _first_month(member: Member, index: int) -> str:
    if member.email == NIA:
        return "2026-11"
    return "2026-08" if index < 260 else "2026-09" if index < 280 else "2026-10"


def chapter_dues(app: Flask, session: Session, rng: random.Random) -> None:
    """Dues: Aug-Nov 2026 paid by card; two declines in November (one pays on the 5th)."""
    cfg = services.settings()
    people = session.scalars(select(Member).order_by(Member.id)).all()
    for index, member in enumerate(people):
        account = services.link_customer(session, member, f"cus_demo_{member.id}")
        first = _first_month(member, index)
        nia_day = 12 if member.email == NIA else 1
        for month in MONTHS[MONTHS.index(first) :]:
            if member.email == LEAVER and month == "2026-11":
                ending = _sub(member, "2026-10", ending=True)
                services.fulfil(
                    session, account, seen_at=_ts("2026-10", 20), cfg=cfg, subscription=ending
                )
                gone = _sub(member, "2026-10", "canceled", ending=True)
                services.fulfil(session, account, seen_at=_ts(month), cfg=cfg, subscription=gone)
                break
            if member.email in DECLINED and month == "2026-11":
                _decline(session, account, member, cfg)
                continue
            day = nia_day if month == first else 1
            bill = _invoice(member, month, day)
            sub = _sub(member, month)
            services.fulfil(
                session, account, seen_at=_ts(month, day), cfg=cfg, subscription=sub, invoice=bill
            )
    session.flush()


def _decline(session: Session, account: Any, member: Member, cfg: services.DuesSettings) -> None:
    """November's charge fails; member010 pays on the 5th, member011's retry fails on the 20th."""
    month = "2026-11"
    failed = _invoice(member, month, paid=False)
    services.fulfil(
        session, account, seen_at=_ts(month), cfg=cfg, invoice=failed, invoice_event="failed"
    )
    if member.email == DECLINED[0]:
        paid = {**failed, "amount_paid": 500, "status_transitions": {"paid_at": _ts(month, 5)}}
        services.fulfil(session, account, seen_at=_ts(month, 5), cfg=cfg, invoice=paid)
    else:
        services.fulfil(
            session,
            account,
            seen_at=_ts(month, 20),
            cfg=cfg,
            invoice=failed,
            invoice_event="failed",
        )
