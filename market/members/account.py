"""A member's own account: what it holds about them, and leaving the co-op.

Deleting an account erases the person, not the co-op's history: the member row stays as a
tombstone (so the books, positions and ballots keep their references) with no email, name
or password left; every package's eraser (`market.personal`) runs in the same transaction,
and any of them may refuse (a subscription that still renews, for instance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from market.errors import DomainError
from market.members import sessions, tokens
from market.members.models import Member, MemberStatus
from market.members.passwords import verify_password
from market.personal import stamp
from market.plugins import App

FORMER_NAME = "Former member"
UNUSABLE_HASH = "!deleted"  # no password verifies against it


def tombstone_email(member_id: int) -> str:
    """The address a deleted account keeps: unique, undeliverable (RFC 2606's .invalid)."""
    return f"deleted-{member_id}@members.invalid"


def export_profile(session: Session, member_id: int) -> dict[str, Any]:
    member = session.get(Member, member_id)
    assert member is not None
    return {
        "id": member.id,
        "email": member.email,
        "display_name": member.display_name,
        "member_class": member.member_class,
        "status": member.status,
        "is_admin": member.is_admin,
        "grace_until": stamp(member.grace_until),
        "joined_at": stamp(member.created_at),
        "emails_may_quote_members": member.email_member_text,
        "open_logins": sessions.open_count(session, member.id),
        "api_tokens": tokens.export(session, member.id),
    }


def erase_profile(session: Session, member_id: int, now: datetime) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    member.email = tombstone_email(member.id)
    member.display_name = FORMER_NAME
    member.password_hash = UNUSABLE_HASH
    member.is_admin = False
    member.email_member_text = False
    member.status = MemberStatus.CANCELLED.value
    member.grace_until = None
    member.deleted_at = now
    session.flush()
    sessions.end_sessions(session, member.id)
    tokens.delete_all(session, member.id)  # an erased person's programs stop too


def delete_account(
    session: Session, app: App, member: Member, password: str, now: datetime
) -> None:
    """Erase the member's personal data everywhere, after checking their password."""
    from market import personal

    if member.deleted_at is not None:
        raise DomainError("This account is already deleted.")
    if not verify_password(member.password_hash, password):
        raise DomainError("Your password is not right, so nothing was deleted.")
    if member.is_admin:
        raise DomainError("An admin cannot delete their account: ask another admin to demote you.")
    with session.begin_nested():  # a package that refuses undoes every part already erased
        personal.erase(app, session, member.id, now)
