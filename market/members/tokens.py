"""Personal access tokens for the JSON API: created and revoked by their member.

The token is shown once, at creation; the table keeps only its SHA-256 (a copy of the
database authorises nothing). Scopes nest: read < member < admin.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.errors import DomainError, Forbidden, NotFound
from market.members.models import ApiToken, Member

PREFIX = "sc_"
SCOPES = ("read", "member", "admin")
LIFETIMES = (7, 30, 90, 365)  # days a member may choose
MAX_LIVE = 20  # live tokens per member


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scope_allows(held: str, needed: str) -> bool:
    """Whether a token of scope `held` may do what needs `needed`."""
    return held in SCOPES and needed in SCOPES and SCOPES.index(held) >= SCOPES.index(needed)


@dataclass(frozen=True)
class Created:
    """A new token: the secret itself is in `secret` and nowhere else, ever."""

    token: ApiToken
    secret: str


def create(
    session: Session,
    member: Member,
    name: str,
    scope: str,
    days: int,
    now: datetime | None = None,
) -> Created:
    """Make a token for the member; admin scope only for admins."""
    now = now or utcnow()
    label = " ".join((name or "").split())
    if not label or len(label) > 80:
        raise DomainError("Give the token a name of 1 to 80 characters.")
    if scope not in SCOPES:
        raise DomainError("Choose the token's scope: read, member or admin.")
    if scope == "admin" and not member.is_admin:
        raise Forbidden("Only admins may make tokens with the admin scope.")
    if days not in LIFETIMES:
        raise DomainError("Choose how long the token lasts.")
    if len(live_tokens(session, member, now)) >= MAX_LIVE:
        raise DomainError(f"You have {MAX_LIVE} live tokens already: revoke one first.")
    body = secrets.token_urlsafe(32)
    row = ApiToken(
        member_id=member.id,
        name=label,
        token_hash=_digest(PREFIX + body),
        hint=body[:6],
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return Created(row, PREFIX + body)


def live_tokens(session: Session, member: Member, now: datetime | None = None) -> list[ApiToken]:
    """The member's tokens that still work, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.member_id == member.id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > (now or utcnow()),
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke(session: Session, member: Member, token_id: int, now: datetime | None = None) -> str:
    """Revoke one of the member's own tokens (anyone else's is not found); its name."""
    row = session.get(ApiToken, token_id)
    if row is None or row.member_id != member.id or row.revoked_at is not None:
        raise NotFound("No such token among yours.")
    row.revoked_at = now or utcnow()
    session.flush()
    return row.name


def resolve(
    session: Session, secret: str, now: datetime | None = None
) -> tuple[ApiToken, Member] | None:
    """The live token a secret names and its member, or None (unknown, expired, revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    now = now or utcnow()
    row = session.execute(
        select(ApiToken, Member)
        .join(Member, Member.id == ApiToken.member_id)
        .where(
            ApiToken.token_hash == _digest(secret),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            Member.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    token, member = row
    return token, member


def effective_scope(token: ApiToken, member: Member) -> str:
    """The scope a token carries now: an admin token of a demoted member acts as member."""
    if token.scope == "admin" and not member.is_admin:
        return "member"
    return token.scope


def touch(session: Session, token: ApiToken, now: datetime | None = None) -> None:
    """Note the token's last use (at most once a minute, to keep reads cheap)."""
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )


def count_live(session: Session, now: datetime | None = None) -> int:
    """How many tokens work right now (all members)."""
    return int(
        session.scalar(
            select(func.count()).where(
                ApiToken.revoked_at.is_(None), ApiToken.expires_at > (now or utcnow())
            )
        )
        or 0
    )


def export(session: Session, member_id: int) -> list[dict[str, object]]:
    """The member's tokens for their data download (names and dates; never a secret)."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.member_id == member_id).order_by(ApiToken.id)
    )
    return [
        {
            "name": t.name,
            "scope": t.scope,
            "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat(),
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in rows
    ]


def delete_all(session: Session, member_id: int) -> int:
    """Remove every token of a member (their account is erased); how many."""
    result = session.execute(delete(ApiToken).where(ApiToken.member_id == member_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
