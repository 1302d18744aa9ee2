"""What each member chose to be told, and how (inbox, email, daily digest); unsubscribing.

Unsubscribe links carry a signed token (member or address, and kind) that never expires:
a link in a years-old email still works, and it can only ever turn email off.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import DomainError, NotFound
from market.members.models import Member
from market.notifications.kinds import BY_NAME, Kind, choosable, kinds_for
from market.notifications.models import (
    EmailSuppression,
    NotificationPreference,
    NotificationSettings,
)

ALL = "all"  # an unsubscribe token for every email a member may turn off
DIGEST = "digest"


@dataclass(frozen=True)
class Choice:
    """One row of the preferences page."""

    kind: Kind
    inbox: bool
    email: bool


def choices(session: Session, member: Member) -> list[Choice]:
    """The member's current choice for each kind they may choose about."""
    rows = session.scalars(
        select(NotificationPreference).where(NotificationPreference.member_id == member.id)
    )
    chosen = {row.kind: row for row in rows}
    result = []
    for kind in kinds_for(member.is_admin):
        row = chosen.get(kind.name)
        result.append(Choice(kind, row.inbox if row else True, row.email if row else kind.email))
    return result


def wants_digest(session: Session, member: Member) -> bool:
    """Whether the member takes email as one daily digest."""
    settings = session.get(NotificationSettings, member.id)
    return bool(settings and settings.digest)


def _row(session: Session, member_id: int, kind: str) -> NotificationPreference:
    row = session.get(NotificationPreference, (member_id, kind))
    if row is None:
        row = NotificationPreference(
            member_id=member_id, kind=kind, inbox=True, email=BY_NAME[kind].email
        )
        session.add(row)
    return row


def save_choices(
    session: Session,
    member: Member,
    inbox: set[str],
    email: set[str],
    digest: bool,
) -> None:
    """Store the member's choices: the kinds ticked for the inbox and for email."""
    unknown = (inbox | email) - {k.name for k in kinds_for(member.is_admin)}
    if unknown:
        raise DomainError("Unknown kind of notice: " + ", ".join(sorted(unknown)) + ".")
    for kind in kinds_for(member.is_admin):
        row = _row(session, member.id, kind.name)
        row.inbox, row.email = kind.name in inbox, kind.name in email
    set_digest(session, member.id, digest)
    session.flush()


def set_digest(session: Session, member_id: int, digest: bool) -> None:
    """Turn the daily digest on or off."""
    settings = session.get(NotificationSettings, member_id)
    if settings is None:
        settings = NotificationSettings(member_id=member_id, digest=digest)
        session.add(settings)
    settings.digest, settings.updated_at = digest, utcnow()
    session.flush()


# ------------------------------------------------------------------ unsubscribe


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="softcoop-unsubscribe")


def unsubscribe_token(secret: str, member_id: int | None, address: str, kind: str) -> str:
    """The token of a one-click unsubscribe link (a member's id, else the address)."""
    who: int | str = member_id if member_id is not None else address.strip().lower()
    return str(_serializer(secret).dumps([who, kind]))


@dataclass(frozen=True)
class Unsubscribe:
    """What a token stops: one kind (or all) for a member, or all mail to an address."""

    member_id: int | None
    address: str | None
    kind: str

    def describe(self) -> str:
        """The confirmation page's sentence."""
        if self.address is not None:
            return "all email from the co-op to this address"
        if self.kind in (ALL, DIGEST):
            return "every email you can turn off (account and security email still come)"
        return f"emails about: {BY_NAME[self.kind].label.lower()}"


def read_token(secret: str, token: str) -> Unsubscribe:
    """The unsubscribe a token stands for; NotFound for a forged or mangled one."""
    try:
        who, kind = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None
    if isinstance(who, int) and (kind in (ALL, DIGEST) or choosable(str(kind))):
        return Unsubscribe(who, None, str(kind))
    if isinstance(who, str) and "@" in who:
        return Unsubscribe(None, who, str(kind))
    raise NotFound("This unsubscribe link is not valid.")


def unsubscribe(session: Session, what: Unsubscribe) -> None:
    """Stop the emails the token names (idempotent; a departed member is simply done)."""
    if what.address is not None:
        if session.get(EmailSuppression, what.address) is None:
            session.add(EmailSuppression(address=what.address))
        session.flush()
        return
    assert what.member_id is not None
    member = session.get(Member, what.member_id)
    if member is None:
        return
    kinds = (
        [k.name for k in kinds_for(member.is_admin)] if what.kind in (ALL, DIGEST) else [what.kind]
    )
    for kind in kinds:
        _row(session, member.id, kind).email = False
    if what.kind in (ALL, DIGEST):
        set_digest(session, member.id, False)
    session.flush()
