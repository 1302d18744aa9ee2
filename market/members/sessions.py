"""Server-side sessions: each login is a row, so it can be ended from anywhere.

The session cookie (and flask-login's remember cookie) hold "s.<token>" as the user id; the
row keeps only the token's SHA-256, so a copy of the database does not log anybody in. The
rows live in the database, so every host sees a logout at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.members.models import Member, MemberSession

PREFIX = "s."
SESSION_DAYS = 30


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_of(login_id: str | None) -> str | None:
    if not login_id or not login_id.startswith(PREFIX) or len(login_id) > 100:
        return None
    return login_id[len(PREFIX) :]


def open_session(
    session: Session, member_id: int, now: datetime | None = None, days: int = SESSION_DAYS
) -> str:
    """Record a new login for the member; returns the id the cookies carry."""
    now = now or utcnow()
    session.execute(  # tidy this member's expired logins while we are here
        delete(MemberSession).where(
            MemberSession.member_id == member_id, MemberSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        MemberSession(
            member_id=member_id,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return PREFIX + token


def member_for(session: Session, login_id: str, now: datetime | None = None) -> Member | None:
    """The member a cookie's id logs in, if that session is still open."""
    token = _token_of(login_id)
    if token is None:
        return None
    query = (
        select(Member)
        .join(MemberSession, MemberSession.member_id == Member.id)
        .where(MemberSession.token_hash == _digest(token))
        .where(MemberSession.expires_at > (now or utcnow()))
    )
    return session.scalar(query)


def end_session(session: Session, login_id: str | None) -> None:
    """End one session (logout): its cookies stop working everywhere."""
    token = _token_of(login_id)
    if token is not None:
        session.execute(delete(MemberSession).where(MemberSession.token_hash == _digest(token)))


def end_sessions(session: Session, member_id: int, keep: str | None = None) -> int:
    """End every session of a member except `keep` (a login id); returns how many ended."""
    query = delete(MemberSession).where(MemberSession.member_id == member_id)
    token = _token_of(keep)
    if token is not None:
        query = query.where(MemberSession.token_hash != _digest(token))
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


def open_count(session: Session, member_id: int, now: datetime | None = None) -> int:
    """How many sessions of the member are open (shown on the profile)."""
    rows = session.scalars(
        select(MemberSession.id).where(
            MemberSession.member_id == member_id, MemberSession.expires_at > (now or utcnow())
        )
    )
    return len(list(rows))
