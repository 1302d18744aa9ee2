"""A member's inbox; leaving empties it and drops the emails not yet sent to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from market.members.models import Member
from market.notifications.models import Notification, OutboxMessage
from market.personal import stamp


def export_inbox(session: Session, member_id: int) -> list[dict[str, Any]]:
    notes = session.scalars(
        select(Notification)
        .where(Notification.member_id == member_id)
        .order_by(Notification.created_at, Notification.id)
    ).all()
    return [
        {
            "kind": n.kind,
            "subject": n.subject,
            "body": n.body,
            "link": n.link,
            "at": stamp(n.created_at),
            "read_at": stamp(n.read_at),
        }
        for n in notes
    ]


def erase_inbox(session: Session, member_id: int, now: datetime) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    session.execute(delete(Notification).where(Notification.member_id == member_id))
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.to_email == member.email, OutboxMessage.sent_at.is_(None)
        )
    )
