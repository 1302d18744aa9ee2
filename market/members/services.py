"""Member operations. Plain functions taking a session first; they flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member, MemberClass
from market.members.passwords import hash_password, verify_password

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
    """Create a pending member (they become active once their first dues are paid)."""
    email = normalise_email(email)
    check_password_rules(password)
    name = _clean_name(display_name)
    if email_taken(session, email):
        raise Conflict("An account with that email already exists. Try logging in.")
    member = Member(email=email, display_name=name, password_hash=hash_password(password))
    session.add(member)
    session.flush()
    return member


def authenticate(session: Session, email: str, password: str) -> Member | None:
    """The member with these credentials, or None (never says which part was wrong)."""
    try:
        email = normalise_email(email)
    except DomainError:
        verify_password(None, password)
        return None
    member = session.scalar(select(Member).where(Member.email == email))
    if not verify_password(member.password_hash if member else None, password):
        return None
    return member


def update_profile(session: Session, member: Member, email: str, display_name: str) -> None:
    """Change a member's email and display name."""
    new_email = normalise_email(email)
    if email_taken(session, new_email, except_id=member.id):
        raise Conflict("Another account already uses that email.")
    member.email = new_email
    member.display_name = _clean_name(display_name)
    session.flush()


def change_password(session: Session, member: Member, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    if not verify_password(member.password_hash, current):
        raise DomainError("Your current password is not right.")
    check_password_rules(new)
    member.password_hash = hash_password(new)
    session.flush()


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
