"""The daily digest: a member who chose it gets one email a day with the day's notices.

Messages for such members wait (`held_for_digest`); the first run of the sender on a new
day bundles each member's messages from earlier days into one email. The held messages
are marked sent, pointing at their digest, in the same transaction: a digest is composed
once whatever the number of senders (each held row is claimed by a conditional UPDATE).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from market.members.models import Member
from market.notifications.models import OutboxMessage

MAX_ITEMS = 50  # per digest; the rest go into the next day's


def compose_digests(session: Session, now: datetime, base_url: str = "") -> int:
    """Bundle each member's held messages from before today into one digest; how many."""
    today = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    held = (
        select(OutboxMessage.member_id)
        .where(
            OutboxMessage.held_for_digest,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.created_at < today,
        )
        .distinct()
    )
    made = 0
    for member_id in list(session.scalars(held)):
        member = session.get(Member, member_id)
        if member is None:
            continue
        if _compose_one(session, member, today, now, base_url):
            made += 1
    session.flush()
    return made


def _compose_one(
    session: Session, member: Member, today: datetime, now: datetime, base_url: str
) -> bool:
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.member_id == member.id,
                OutboxMessage.held_for_digest,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.created_at < today,
            )
            .order_by(OutboxMessage.id)
            .limit(MAX_ITEMS)
        )
    )
    if not ids:
        return False
    nested = session.begin_nested()
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
        nested.rollback()  # another sender is composing this member's digest
        return False
    nested.commit()
    items = list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        )
    )
    parts = [f"Hello {member.display_name},", "", f"Your daily digest: {len(items)} notice(s)."]
    for item in items:
        # Each item's own text without its greeting and signature.
        lines = [ln for ln in item.body.splitlines() if ln.strip()]
        inner = lines[1:-1] if len(lines) > 2 else lines
        parts += ["", f"## {item.subject}", *inner]
    parts += ["", f"Change what you receive: {base_url.rstrip('/')}/inbox/preferences"]
    parts += ["", "— Commons Software Co-op"]
    digest = OutboxMessage(
        to_email=member.email,
        subject=f"Your daily digest: {len(items)} notice(s)",
        body="\n".join(parts),
        member_id=member.id,
        kind="digest",
        created_at=now,
    )
    session.add(digest)
    session.flush()
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(digest_id=digest.id)
        .execution_options(synchronize_session=False)
    )
    return True
