"""Notify members (inbox + email outbox) and read the inbox. Flush, never commit.

What the co-op says and what a member wrote are kept apart (`Quote`). The inbox shows
both (on the site, as text). An email from the co-op's address quotes a member's words
only to members who asked for that (`Member.email_member_text`), and to many members only
when an admin wrote or vetted them; links in quoted words are defanged so no mail client
makes them clickable. Everyone else gets the co-op's own sentence and the site link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import NotFound
from market.members.models import Member
from market.notifications.kinds import BY_NAME, choosable
from market.notifications.models import (
    EmailSuppression,
    Notification,
    NotificationPreference,
    NotificationSettings,
    OutboxMessage,
)

INBOX_PAGE = 100
# Whom to tell: members, or a query of them (the database then leaves out those told).
Audience = Iterable[Member] | Select[Member]


def _base_url(given: str | None) -> str:
    if given is not None:
        return given
    return str(current_app.config.get("BASE_URL", "")) if has_app_context() else ""


@dataclass(frozen=True)
class Quote:
    """Words a member wrote, quoted in a notification (a title, and maybe a longer text)."""

    title: str
    text: str = ""
    author_id: int | None = None
    vetted: bool = False  # written (or vetted) by an admin: may go to many members


# Anything a mail client would turn into a link: URLs, www., e-mail addresses, bare domains.
LINKISH = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]*:(?://)?\S+|\bwww\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b(?:[\w-]+\.)+[a-z]{2,}\b(?:/\S*)?)"
)

SCHEME = re.compile(r"(?i)[a-z][a-z0-9+.-]*:")


def defang(text: str) -> str:
    """Member text with every link-like piece made inert: evil.example → evil[.]example."""

    def inert(match: re.Match[str]) -> str:
        piece = match.group(0)
        if SCHEME.match(piece):
            piece = piece.replace(":", "[:]", 1)
        return piece.replace(".", "[.]").replace("@", "[at]")

    return LINKISH.sub(inert, text)


def _quotes_for(member: Member, quote: Quote | None, recipients: int) -> bool:
    """Whether this member's email may carry the quoted member text."""
    if quote is None:
        return False
    if member.id == quote.author_id:
        return True  # their own words
    return member.email_member_text and (quote.vetted or recipients == 1)


def _email_body(member: Member, body: str, link: str | None, base_url: str) -> str:
    lines = [f"Hello {member.display_name},", "", body]
    if link:
        lines += ["", f"{base_url.rstrip('/')}{link}"]
    lines += ["", "— Commons Software Co-op"]
    return "\n".join(lines)


def _inbox_text(subject: str, body: str, quote: Quote | None) -> tuple[str, str]:
    if quote is None:
        return subject, body
    full = f"{body}\n\n{quote.text}" if quote.text else body
    return f"{subject}: {quote.title}", full


def _email_text(subject: str, body: str, quote: Quote | None, quoted: bool) -> tuple[str, str]:
    if quote is None or not quoted:
        return subject, body
    title = " ".join(defang(quote.title).split())
    said = f"\n\nA member wrote:\n\n{defang(quote.text)}" if quote.text else ""
    return f"{subject}: {title}", f"{body}\n\n“{title}”{said}"


def notify(
    session: Session,
    member: Member,
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    *,
    quote: Quote | None = None,
    base_url: str | None = None,
) -> Notification:
    """Put a notification in the member's inbox and queue the same news as an email."""
    made = notify_many(session, [member], kind, subject, body, link, quote=quote, base_url=base_url)
    return made[0]


def notify_many(
    session: Session,
    members: Audience,
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    *,
    quote: Quote | None = None,
    base_url: str | None = None,
    event_key: str | None = None,
) -> list[Notification]:
    """notify() for many members at once (one flush), as each member chose to be told.

    `subject` and `body` are the co-op's words; a member's words go in `quote`. With an
    `event_key`, each member is told about that event once, however often this runs. The
    inbox item is always written (hidden when the member turned the kind off in the inbox)
    so the key holds; the email goes out now, waits for the daily digest, or not at all.

    `members` may be a query (`select(Member)…`): with an `event_key` the database leaves
    out those told already, so a job that runs every few minutes over a large co-op loads
    nobody when nothing is new.
    """
    base = _base_url(base_url)
    args = (kind, subject, body, link, quote, base, event_key)
    if event_key is None:
        listed = session.scalars(members) if isinstance(members, Select) else members
        return _add(session, list(listed), *args)
    if not isinstance(members, Select):
        members = list(members)  # an iterator is read once, and may be needed twice
    try:
        with session.begin_nested():  # a concurrent run may tell some of them first
            return _add(session, _not_yet_told(session, members, event_key), *args)
    except IntegrityError:
        return _add(session, _not_yet_told(session, members, event_key), *args)


def _add(
    session: Session,
    everyone: list[Member],
    kind: str,
    subject: str,
    body: str,
    link: str | None,
    quote: Quote | None,
    base: str,
    event_key: str | None,
) -> list[Notification]:
    if not everyone:
        return []
    choices = preferences_for(session, [m.id for m in everyone], kind)
    digests = digest_members(session, [m.id for m in everyone])
    inbox_subject, inbox_body = _inbox_text(subject, body, quote)
    made = []
    for member in everyone:
        want_inbox, want_email = choices.get(member.id, (True, True))
        note = Notification(
            member_id=member.id,
            kind=kind[:40],
            subject=inbox_subject[:200],
            body=inbox_body,
            link=link,
            event_key=event_key,
            shown=want_inbox,
        )
        session.add(note)
        made.append(note)
        if not want_email:
            continue
        mail_subject, mail_body = _email_text(
            subject, body, quote, _quotes_for(member, quote, len(everyone))
        )
        session.add(
            OutboxMessage(
                to_email=member.email,
                subject=" ".join(mail_subject.split())[:200],  # one header line, always
                body=_email_body(member, mail_body, link, base),
                member_id=member.id,
                kind=kind[:40],
                held_for_digest=member.id in digests and choosable(kind),
            )
        )
    session.flush()
    return made


def queue_email(session: Session, to_email: str, subject: str, body: str) -> OutboxMessage:
    """Queue one email to an address: no inbox copy, no preferences (account security)."""
    message = OutboxMessage(to_email=to_email, subject=" ".join(subject.split())[:200], body=body)
    session.add(message)
    session.flush()
    return message


def _not_yet_told(
    session: Session, members: list[Member] | Select[Member], event_key: str
) -> list[Member]:
    if isinstance(members, Select):
        told = select(Notification.id).where(
            Notification.member_id == Member.id, Notification.event_key == event_key
        )
        return list(session.scalars(members.where(~told.exists())))
    if not members:
        return []
    told_ids = set(
        session.scalars(select(Notification.member_id).where(Notification.event_key == event_key))
    )
    return [m for m in members if m.id not in told_ids]


def preferences_for(
    session: Session, member_ids: list[int], kind: str
) -> dict[int, tuple[bool, bool]]:
    """(inbox, email) for each member who chose something about this kind."""
    if not choosable(kind) or not member_ids:
        return {}
    default_email = BY_NAME[kind].email
    rows = session.execute(
        select(
            NotificationPreference.member_id,
            NotificationPreference.inbox,
            NotificationPreference.email,
        ).where(NotificationPreference.kind == kind)
    ).all()
    chosen = {mid: (inbox, email) for mid, inbox, email in rows}
    return {mid: chosen.get(mid, (True, default_email)) for mid in member_ids}


def digest_members(session: Session, member_ids: list[int]) -> set[int]:
    """Which of these members take their email as one daily digest."""
    if not member_ids:
        return set()
    query = select(NotificationSettings.member_id).where(NotificationSettings.digest)
    wanted = set(member_ids)
    return {mid for mid in session.scalars(query) if mid in wanted}


def email_address(
    session: Session,
    to_email: str,
    kind: str,
    subject: str,
    body: str,
    *,
    greeting: str = "Hello,",
) -> OutboxMessage | None:
    """Queue an email to someone who is not a member (a vendor); None if they opted out."""
    address = to_email.strip()
    if not address or session.get(EmailSuppression, address.lower()) is not None:
        return None
    message = OutboxMessage(
        to_email=address,
        subject=" ".join(subject.split())[:200],
        body="\n".join([greeting, "", body, "", "— Commons Software Co-op"]),
        kind=kind[:40],
    )
    session.add(message)
    session.flush()
    return message


def set_email_member_text(session: Session, member: Member, on: bool) -> None:
    """Whether the member's emails may quote other members' words."""
    member.email_member_text = on
    session.flush()


def unread_count(session: Session, member: Member) -> int:
    """How many of the member's notifications are unread."""
    query = select(func.count()).where(
        Notification.member_id == member.id, Notification.read_at.is_(None), Notification.shown
    )
    return session.scalar(query) or 0


def inbox(session: Session, member: Member, limit: int = INBOX_PAGE) -> list[Notification]:
    """The member's most recent notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.member_id == member.id, Notification.shown)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def get_notification_for_member(session: Session, member: Member, note_id: int) -> Notification:
    """One of the member's own notifications (someone else's is simply not found)."""
    note = session.get(Notification, note_id)
    if note is None or note.member_id != member.id or not note.shown:
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
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
            OutboxMessage.held_for_digest.is_(False),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_message(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """Mark a message sent if nobody has; the message when this session won it, else None.

    The conditional UPDATE takes the row's write lock: a second sender's UPDATE waits for
    the first transaction and then matches no row, so only one sender ever delivers it.
    """
    won = session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
        )
        .values(sent_at=now)
        .returning(OutboxMessage)  # the row it won, in the same statement
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    return won[0] if won else None


def record_failure(session: Session, message_id: int, error: str, cap: int, now: datetime) -> bool:
    """Count a failed send; give the message up at `cap` failures. True when given up."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.sent_at is not None:
        return False
    message.attempts += 1
    message.last_error = error
    if message.attempts >= cap:
        message.gave_up_at = now
    session.flush()
    return message.gave_up_at is not None
