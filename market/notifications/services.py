"""Notify members (inbox + email outbox) and read the inbox. Flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import NotFound
from market.members.models import Member
from market.notifications.models import Notification, OutboxMessage

INBOX_PAGE = 100


def _base_url(given: str | None) -> str:
    if given is not None:
        return given
    return str(current_app.config.get("BASE_URL", "")) if has_app_context() else ""


def _email_body(member: Member, body: str, link: str | None, base_url: str) -> str:
    lines = [f"Hello {member.display_name},", "", body]
    if link:
        lines += ["", f"{base_url.rstrip('/')}{link}"]
    lines += ["", "— Commons Software Co-op"]
    return "\n".join(lines)


def notify(
    session: Session,
    member: Member,
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    *,
    base_url: str | None = None,
) -> Notification:
    """Put a notification in the member's inbox and queue the same news as an email."""
    return notify_many(session, [member], kind, subject, body, link, base_url=base_url)[0]


def notify_many(
    session: Session,
    members: Iterable[Member],
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    *,
    base_url: str | None = None,
) -> list[Notification]:
    """notify() for many members at once (one flush)."""
    subject = subject[:200]
    base = _base_url(base_url)
    made = []
    for member in members:
        note = Notification(
            member_id=member.id, kind=kind[:40], subject=subject, body=body, link=link
        )
        session.add(note)
        session.add(
            OutboxMessage(
                to_email=member.email,
                subject=subject,
                body=_email_body(member, body, link, base),
            )
        )
        made.append(note)
    session.flush()
    return made


def unread_count(session: Session, member: Member) -> int:
    """How many of the member's notifications are unread."""
    query = select(func.count()).where(
        Notification.member_id == member.id, Notification.read_at.is_(None)
    )
    return session.scalar(query) or 0


def inbox(session: Session, member: Member, limit: int = INBOX_PAGE) -> list[Notification]:
    """The member's most recent notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def get_notification_for_member(session: Session, member: Member, note_id: int) -> Notification:
    """One of the member's own notifications (someone else's is simply not found)."""
    note = session.get(Notification, note_id)
    if note is None or note.member_id != member.id:
        raise NotFound("No such notification.")
    return note


def mark_read(session: Session, note: Notification, now: datetime | None = None) -> None:
    """Mark one notification read (keeps the first time it was read)."""
    if note.read_at is None:
        note.read_at = now or utcnow()
        session.flush()


def mark_all_read(session: Session, member: Member, now: datetime | None = None) -> int:
    """Mark every unread notification of the member read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def unsent_ids(session: Session, limit: int) -> list[int]:
    """Ids of outbox messages not yet sent, oldest first."""
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_message(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """Mark a message sent if nobody has; the message when this session won it, else None.

    The conditional UPDATE takes the row's write lock: a second sender's UPDATE waits for
    the first transaction and then matches no row, so only one sender ever delivers it.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)
