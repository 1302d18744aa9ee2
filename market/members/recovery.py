"""Links sent by email that prove who holds an address: password reset, email verification,
and a change of email confirmed on the new address.

Each link carries a token signed with the app's secret (itsdangerous), for one purpose (its
salt), expiring (its age is checked), and single-use: it names the state it changes (a
fingerprint of the password hash it replaces, or the address it confirms), so once used, or
once that state moved on, it no longer matches and is refused. Nothing here says whether an
address has an account: asking for a reset answers the same either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.errors import Conflict, DomainError
from market.members import sessions
from market.members.models import Member
from market.members.passwords import hash_password
from market.members.services import check_password_rules, email_taken, normalise_email
from market.plugins import App, mailer

RESET = ("softcoop.password-reset", timedelta(hours=1))
VERIFY = ("softcoop.email-verify", timedelta(days=3))
CHANGE = ("softcoop.email-change", timedelta(days=1))
LinkFor = Callable[[str], str]
STALE = "This link has expired or was already used. Ask for a new one."


class LinkRefused(DomainError):
    """The link is not valid (any more); nothing changed."""

    status_code = 400


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


class _ClockSigner(TimestampSigner):
    """Stamps and ages tokens by the co-op's clock (which tests and simulations move)."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer(secret: str, purpose: tuple[str, timedelta]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=purpose[0], signer=_ClockSigner)


def _sign(secret: str, purpose: tuple[str, timedelta], payload: dict[str, Any]) -> str:
    return _serializer(secret, purpose).dumps(payload)


def _read(secret: str, purpose: tuple[str, timedelta], token: str) -> dict[str, Any]:
    try:
        payload = _serializer(secret, purpose).loads(token, max_age=int(purpose[1].total_seconds()))
    except SignatureExpired:
        raise LinkRefused(STALE) from None
    except BadSignature:
        raise LinkRefused("This link is not valid. Check you copied all of it.") from None
    if not isinstance(payload, dict):
        raise LinkRefused(STALE)
    return payload


def _member(session: Session, payload: dict[str, Any]) -> Member:
    member = session.get(Member, payload.get("m"), with_for_update=True)
    if member is None or member.deleted_at is not None:
        raise LinkRefused(STALE)
    return member


def _send(app: App, session: Session, to: str, subject: str, body: str) -> None:
    mailer(app)(session, to, subject, body)


# Password reset -----------------------------------------------------------------------------


def request_reset(
    session: Session, app: App, secret: str, email: str, link_for: LinkFor, now: datetime
) -> None:
    """Email a reset link if the address has an account; the caller answers the same anyway."""
    try:
        address = normalise_email(email)
    except DomainError:
        return
    member = session.scalar(select(Member).where(Member.email == address))
    if member is None or member.deleted_at is not None:
        return
    token = _sign(secret, RESET, {"m": member.id, "h": _fingerprint(member.password_hash)})
    _send(
        app,
        session,
        member.email,
        "Reset your password",
        "Someone (we hope you) asked to reset the password of your co-op account.\n\n"
        f"Choose a new password here, within the hour:\n{link_for(token)}\n\n"
        "The link works once. If you did not ask, ignore this email: nothing has changed.",
    )


def check_reset(session: Session, secret: str, token: str, now: datetime) -> Member:
    """The member a reset link is for, if it is still good (shown before the form)."""
    payload = _read(secret, RESET, token)
    member = _member(session, payload)
    if payload.get("h") != _fingerprint(member.password_hash):
        raise LinkRefused(STALE)  # the password changed since: used, or overtaken
    return member


def reset_password(
    session: Session, secret: str, token: str, new_password: str, now: datetime
) -> Member:
    """Set a new password from a reset link; every session ends; the link is spent."""
    member = check_reset(session, secret, token, now)
    check_password_rules(new_password)
    member.password_hash = hash_password(new_password)
    member.email_verified_at = member.email_verified_at or now  # the link proved the address
    session.flush()
    sessions.end_sessions(session, member.id)
    return member


# Email verification -------------------------------------------------------------------------


def send_verification(
    session: Session, app: App, secret: str, member: Member, link_for: LinkFor
) -> None:
    """Email the member a link that confirms their address."""
    token = _sign(secret, VERIFY, {"m": member.id, "e": member.email})
    _send(
        app,
        session,
        member.email,
        "Confirm your email address",
        f"Confirm that this address is yours (the link works for three days):\n{link_for(token)}",
    )


def verify_email(session: Session, secret: str, token: str, now: datetime) -> Member:
    payload = _read(secret, VERIFY, token)
    member = _member(session, payload)
    if payload.get("e") != member.email:
        raise LinkRefused(STALE)  # the address changed since
    if member.email_verified_at is not None:
        raise LinkRefused("This address is already confirmed: the link was used.")
    member.email_verified_at = now
    session.flush()
    return member


# Change of email ----------------------------------------------------------------------------


def request_email_change(
    session: Session, app: App, secret: str, member: Member, new_email: str, link_for: LinkFor
) -> str:
    """Send a confirmation link to the new address (and a notice to the old); returns it."""
    address = normalise_email(new_email)
    if address == member.email:
        return address
    if email_taken(session, address, except_id=member.id):
        raise Conflict("Another account already uses that email.")
    token = _sign(secret, CHANGE, {"m": member.id, "old": member.email, "new": address})
    _send(
        app,
        session,
        address,
        "Confirm your new email address",
        f"Confirm that your co-op account should use this address from now on (within a day):"
        f"\n{link_for(token)}\n\nIf you did not ask for this, ignore this email.",
    )
    _send(
        app,
        session,
        member.email,
        "Your co-op account's email is about to change",
        f"Someone logged in to your account asked to use {address} instead of this address. "
        "It changes only when that address confirms. If this was not you, change your password.",
    )
    return address


def confirm_email_change(
    session: Session, secret: str, token: str, now: datetime, keep: str | None = None
) -> Member:
    """Move the account to the new address; every other session ends; the link is spent."""
    payload = _read(secret, CHANGE, token)
    member = _member(session, payload)
    if payload.get("old") != member.email:
        raise LinkRefused(STALE)
    new = str(payload.get("new"))
    if email_taken(session, new, except_id=member.id):
        raise Conflict("Another account now uses that email, so yours did not change.")
    member.email = new
    member.email_verified_at = now
    session.flush()
    sessions.end_sessions(session, member.id, keep=keep)
    return member
