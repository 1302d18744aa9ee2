"""Member operations. Plain functions taking a session first; they flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members import sessions
from market.members.models import Member, MemberClass
from market.members.passwords import check_password, hash_password, verify_password

MIN_PASSWORD = 10
MAX_PASSWORD = 256


def normalise_email(raw: str) -> str:
    """Validate an email address (syntax only) and lower-case it for uniqueness."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(f"That email address is not valid: {exc}") from None
    return info.normalized.lower()


def check_password_rules(password: str) -> None:
    """Refuse passwords that are too short or absurdly long."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"Passwords need at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"Passwords can have at most {MAX_PASSWORD} characters.")


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise DomainError("Please give a display name.")
    if len(name) > 80:
        raise DomainError("Display names can have at most 80 characters.")
    return name


def email_taken(session: Session, email: str, *, except_id: int | None = None) -> bool:
    """Whether another member already uses this (normalised) email."""
    query = select(Member.id).where(Member.email == email)
    if except_id is not None:
        query = query.where(Member.id != except_id)
    return session.scalar(query) is not None


def sign_up(session: Session, email: str, display_name: str, password: str) -> Member:
    """Create a pending member (the demo and scripts; the sign-up page uses `join`)."""
    email = normalise_email(email)
    check_password_rules(password)
    name = _clean_name(display_name)
    if email_taken(session, email):
        raise Conflict("An account with that email already exists.")
    member = Member(email=email, display_name=name, password_hash=hash_password(password))
    session.add(member)
    session.flush()
    return member


def join(session: Session, email: str, display_name: str, password: str) -> Member | None:
    """The sign-up page: a pending member, or None when the email has an account already.

    Either way the address gets a message and the caller shows the same answer, so sign-up
    does not tell a stranger who is a member. The password is hashed either way (same time).
    """
    email = normalise_email(email)
    check_password_rules(password)
    name = _clean_name(display_name)
    password_hash = hash_password(password)
    existing = session.scalar(select(Member).where(Member.email == email))
    if existing is None:
        try:
            with session.begin_nested():
                member = Member(email=email, display_name=name, password_hash=password_hash)
                session.add(member)
        except IntegrityError:  # the same address signed up at the same moment
            existing = session.scalar(select(Member).where(Member.email == email))
        else:
            _tell(session, member, "Welcome to the co-op", WELCOME)
            return member
    if existing is not None:
        _tell(session, existing, "Someone tried to join with your address", ALREADY_MEMBER)
    return None


WELCOME = (
    "Your account is ready. Log in with the password you chose; one step is left: set up your dues."
)
ALREADY_MEMBER = (
    "Someone (perhaps you) tried to join the co-op with this address, which already has an "
    "account. Nothing changed. If it was you, just log in. If it was not, you can ignore this."
)


def _tell(session: Session, member: Member, subject: str, body: str) -> None:
    # Notifications sit above members (they read members' rows): ask the app, do not import.
    from flask import current_app

    from market.plugins import notifier

    notifier(current_app)(session, member, "account.signup", subject, body, "/login")


def authenticate(session: Session, email: str, password: str) -> Member | None:
    """The member with these credentials, or None (never says which part was wrong).

    Takes the same time whether or not the account exists; a hash made with weaker
    parameters than today's is replaced on success.
    """
    try:
        email = normalise_email(email)
    except DomainError:
        verify_password(None, password)
        return None
    member = session.scalar(select(Member).where(Member.email == email))
    verdict = check_password(member.password_hash if member else None, password)
    if member is None or not verdict.ok:
        return None
    if verdict.new_hash is not None:
        member.password_hash = verdict.new_hash
        session.flush()
    return member


def update_profile(
    session: Session, member: Member, email: str, display_name: str, keep: str | None = None
) -> bool:
    """Change a member's email and display name; a new email ends every session but `keep`.

    Returns whether other sessions were ended.
    """
    new_email = normalise_email(email)
    if email_taken(session, new_email, except_id=member.id):
        raise Conflict("Another account already uses that email.")
    changed = new_email != member.email
    member.email = new_email
    member.display_name = _clean_name(display_name)
    session.flush()
    if changed:
        sessions.end_sessions(session, member.id, keep=keep)
    return changed


def change_password(
    session: Session, member: Member, current: str, new: str, keep: str | None = None
) -> None:
    """Change a password after checking the current one; ends every session but `keep`."""
    if not verify_password(member.password_hash, current):
        raise DomainError("Your current password is not right.")
    check_password_rules(new)
    member.password_hash = hash_password(new)
    session.flush()
    sessions.end_sessions(session, member.id, keep=keep)


def get_member_for_admin(session: Session, admin: Member, member_id: int) -> Member:
    """A member, for an admin to manage."""
    if not admin.is_admin:
        raise Forbidden("Only admins can manage members.")
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound("No such member.")
    return member


def set_admin(session: Session, admin: Member, member: Member, is_admin: bool) -> None:
    """Promote or demote an admin; the co-op always keeps at least one."""
    if not is_admin and member.is_admin:
        admins = session.scalar(select(func.count()).where(Member.is_admin.is_(True)))
        if (admins or 0) <= 1:
            raise Conflict("The co-op needs at least one admin; promote someone else first.")
    if member.is_admin and not is_admin:
        # Whatever was opened with admin rights must not outlive them.
        sessions.end_sessions(session, member.id)
    member.is_admin = is_admin
    session.flush()


def set_member_class(session: Session, admin: Member, member: Member, member_class: str) -> None:
    """Set a member's class (consumer or worker)."""
    try:
        member.member_class = MemberClass(member_class).value
    except ValueError:
        raise DomainError("Member class must be consumer or worker.") from None
    session.flush()


@dataclass(frozen=True)
class MemberPage:
    """One page of the admin member list."""

    members: list[Member]
    page: int
    pages: int
    total: int


def search_members(
    session: Session, query: str = "", page: int = 1, per_page: int = 50
) -> MemberPage:
    """Members whose email or name contains the query, newest first, one page."""
    condition = None
    query = query.strip()
    if query:
        like = f"%{query.lower().replace('%', '').replace('_', '')}%"
        condition = or_(Member.email.like(like), func.lower(Member.display_name).like(like))
    count_q = select(func.count()).select_from(Member)
    list_q = select(Member).order_by(Member.id.desc())
    if condition is not None:
        count_q = count_q.where(condition)
        list_q = list_q.where(condition)
    total = session.scalar(count_q) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    members = list(session.scalars(list_q.limit(per_page).offset((page - 1) * per_page)))
    return MemberPage(members, page, pages, total)
